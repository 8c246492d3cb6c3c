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

/** What one process told discovery: its namespace's inode, and its cgroup. */
interface ProcessSeen {
  inode: number | null;
  unreadable: boolean;
  /** When it was first seen in this namespace. */
  since: number;
  /** Seen in the same namespace across `settleMs`: not read again until the next full read. */
  settled: boolean;
  cgroup?: string | undefined;
  cgroupRead?: boolean;
}

export interface DiscovererOptions {
  procfs: string;
  runDirs?: readonly string[];
  /** Every process is read again this often (0: every time). */
  rereadMs?: number;
  /** A process found in the same namespace this long apart is settled (read no more until then). */
  settleMs?: number;
  clock?: () => number;
}

/**
 * Discovery that remembers processes. /proc is listed every time (new and
 * exited processes), but a settled process (found in the same namespace
 * at reads at least `settleMs` apart) is not read again, neither its
 * ns/net link nor its cgroup, until the next full read every `rereadMs`.
 * A readlink costs ~20 us of the event loop: 8 ms per scrape for the 374
 * processes of the development machine, more on a node of a thousand.
 * Why settle first: a container's first process is forked in the host's
 * namespace and joins its own (setns, unshare) and its cgroup within
 * milliseconds; read once at that moment and kept, its pod would go
 * unnamed until the next full read. A pid reused by another process is
 * forgotten when the first exits between two listings; within one, the
 * namespace it leads to has another inode, which opening checks.
 */
export class Discoverer {
  private readonly seen = new Map<number, ProcessSeen>();
  private lastFull = -Infinity;

  constructor(private readonly options: DiscovererOptions) {}

  discover(): Discovery {
    const { procfs, runDirs = DEFAULT_RUN_DIRS, rereadMs = 0, settleMs = 1000 } = this.options;
    const now = (this.options.clock ?? (() => performance.now()))();
    if (now - this.lastFull >= rereadMs) {
      this.seen.clear();
      this.lastFull = now;
    }
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
    const alive = new Set(pids);
    for (const pid of this.seen.keys()) if (!alive.has(pid)) this.seen.delete(pid);
    for (const pid of pids) {
      const seen = this.look(procfs, pid, now, settleMs);
      if (!seen) continue;
      if (seen.unreadable) unreadable++;
      const { inode } = seen;
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
      const seen = this.seen.get(entry.pid)!;
      if (!seen.settled || !seen.cgroupRead) {
        seen.cgroup = cgroupOf(procfs, entry.pid);
        seen.cgroupRead = true;
      }
      if (seen.cgroup === undefined) continue;
      entry.cgroup = seen.cgroup;
      entry.identity = parseCgroupPath(seen.cgroup);
      entry.cgroupLabel = cgroupLabel(seen.cgroup, entry.identity);
    }
    return { namespaces: [...byInode.values()], unreadable, ownInode };
  }

  /** The process's namespace, read unless settled; null when it exited. */
  private look(procfs: string, pid: number, now: number, settleMs: number): ProcessSeen | null {
    const known = this.seen.get(pid);
    if (known?.settled) return known;
    const read = readProcessNamespace(procfs, pid);
    if (!read) {
      this.seen.delete(pid);
      return null;
    }
    if (known && known.inode === read.inode && known.unreadable === read.unreadable) {
      known.settled = now - known.since >= settleMs;
      return known;
    }
    const seen: ProcessSeen = { ...read, since: now, settled: false };
    this.seen.set(pid, seen);
    return seen;
  }
}

/** A process's ns/net; null when it exited meanwhile. */
function readProcessNamespace(
  procfs: string,
  pid: number,
): Pick<ProcessSeen, 'inode' | 'unreadable'> | null {
  try {
    return {
      inode: namespaceInode(readlinkSync(path.join(procfs, String(pid), 'ns', 'net'))),
      unreadable: false,
    };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM') return { inode: null, unreadable: true };
    return null;
  }
}

/** One discovery, every process read (the Discoverer without memory). */
export function discoverNamespaces(
  procfs: string,
  runDirs: readonly string[] = DEFAULT_RUN_DIRS,
): Discovery {
  return new Discoverer({ procfs, runDirs }).discover();
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
