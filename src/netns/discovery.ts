// Every network namespace on the host: the union of the namespaces of the
// processes (/proc/PID/ns/net, one entry per inode) and of the nsfs files
// bind-mounted under /run/netns (`ip netns` names; containerd and CNI pin
// cni-<uuid> there), which is the only way to reach a namespace that no
// process is in. Identity: its name where it has one, else its inode; a
// process in it; that process's cgroup and what the path says (pod UID,
// container id).
import { readdirSync, readFileSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { cgroupLabel, type Identity, parseCgroupPath } from '../owners';

export interface NamespaceEntry {
  inode: number;
  /** The bind mount's name (ip netns, cni-<uuid>); absent for a process-only namespace. */
  name?: string;
  /** A path to open it by: the bind mount, else PROCFS/PID/ns/net. */
  path: string;
  /** The lowest PID in it, when any process is. */
  pid?: number;
  /** That process's cgroup v2 path and what it says. */
  cgroup?: string;
  cgroupLabel?: string;
  identity: Identity;
}

export interface Discovery {
  namespaces: NamespaceEntry[];
  /** Processes whose /proc/PID/ns/net could not be read (no CAP_SYS_PTRACE). */
  unreadable: number;
  /** The namespace of PROCFS/self (the exporter's own), served by the other collectors. */
  ownInode: number | null;
}

/** /run/netns is where ip netns and CNI pin namespaces; /var/run is usually a link to /run. */
export const DEFAULT_RUN_DIRS = ['/run/netns', '/var/run/netns'];

const NET_LINK = /^net:\[(\d+)\]$/;

function namespaceInode(link: string): number | null {
  const match = NET_LINK.exec(link);
  return match ? Number(match[1]) : null;
}

function cgroupOf(procfs: string, pid: number): string | undefined {
  try {
    const text = readFileSync(path.join(procfs, String(pid), 'cgroup'), 'utf8');
    return text
      .split('\n')
      .find((line) => line.startsWith('0::'))
      ?.slice(3);
  } catch {
    return undefined;
  }
}

/** Bind mounts of namespace files under the run directories, by inode. */
function pinned(runDirs: readonly string[]): Map<number, { name: string; path: string }> {
  const out = new Map<number, { name: string; path: string }>();
  const seen = new Set<string>();
  for (const dir of runDirs) {
    let real: string;
    let names: string[];
    try {
      real = realpathSync(dir);
      if (seen.has(real)) continue;
      seen.add(real);
      names = readdirSync(real);
    } catch {
      continue;
    }
    for (const name of names) {
      const file = path.join(real, name);
      try {
        // An nsfs bind mount: stat() gives the namespace's inode. A plain
        // file left from an unmounted namespace gives its own, and opening
        // it later fails with EINVAL (not a namespace): it is dropped then.
        const { ino } = statSync(file);
        if (!out.has(ino)) out.set(ino, { name, path: file });
      } catch {
        // vanished meanwhile
      }
    }
  }
  return out;
}

export function discoverNamespaces(
  procfs: string,
  runDirs: readonly string[] = DEFAULT_RUN_DIRS,
): Discovery {
  let ownInode: number | null = null;
  try {
    ownInode = namespaceInode(readlinkSync(path.join(procfs, 'self', 'ns', 'net')));
  } catch {
    ownInode = null;
  }
  const byInode = new Map<number, NamespaceEntry>();
  let unreadable = 0;
  let pids: number[] = [];
  try {
    pids = readdirSync(procfs)
      .filter((name) => /^\d+$/.test(name))
      .map(Number)
      .sort((a, b) => a - b);
  } catch {
    pids = [];
  }
  for (const pid of pids) {
    let inode: number | null;
    try {
      inode = namespaceInode(readlinkSync(path.join(procfs, String(pid), 'ns', 'net')));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EACCES' || code === 'EPERM') unreadable++;
      continue; // or the process exited
    }
    if (inode === null || byInode.has(inode)) continue;
    byInode.set(inode, {
      inode,
      path: path.join(procfs, String(pid), 'ns', 'net'),
      pid,
      identity: {},
    });
  }
  for (const [inode, mount] of pinned(runDirs)) {
    const entry = byInode.get(inode);
    if (entry) {
      entry.name = mount.name;
      entry.path = mount.path;
    } else {
      byInode.set(inode, { inode, name: mount.name, path: mount.path, identity: {} });
    }
  }
  for (const entry of byInode.values()) {
    if (entry.pid === undefined) continue;
    const cgroup = cgroupOf(procfs, entry.pid);
    if (cgroup === undefined) continue;
    entry.cgroup = cgroup;
    entry.identity = parseCgroupPath(cgroup);
    entry.cgroupLabel = cgroupLabel(cgroup, entry.identity);
  }
  return { namespaces: [...byInode.values()], unreadable, ownInode };
}

/**
 * Whether the namespace is still where it was found: its file (the bind
 * mount, or a process's ns/net) still leads to the same inode. Our own
 * handle keeps a vanished namespace's inode alive, so it cannot be asked.
 */
export function stillThere(entry: NamespaceEntry): boolean {
  try {
    return statSync(entry.path).ino === entry.inode;
  } catch {
    return false;
  }
}

/** The `netns` label: the namespace's name, else its inode. */
export function netnsLabel(entry: NamespaceEntry): string {
  return entry.name ?? String(entry.inode);
}
