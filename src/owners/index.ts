// Who owns a socket: its cgroup (from INET_DIAG_CGROUP_ID) and what that
// path says (systemd unit, pod, container), and for listeners the process
// holding it. Long-lived: the caches persist across scrapes. Every reason a
// label comes out empty is kept for /doctor.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { CgroupIndex, type CgroupMount, findCgroup2Mount, netClassifierInUse } from './cgroups';
import { cgroupLabel, type Identity, parseCgroupPath } from './identity';
import { type ProcessIndex, type ProcessOwner, ProcessIndex as Processes } from './processes';

export { type Identity, cgroupLabel, parseCgroupPath } from './identity';
export type { ProcessOwner } from './processes';

export interface CgroupOwner {
  id: number;
  /** Path under the cgroup2 mount, starting with /. */
  path: string;
  /** The `cgroup` label value (pod and container in the kubepods tree). */
  label: string;
  identity: Identity;
}

export interface SocketOwner {
  cgroup: CgroupOwner | null;
  process: ProcessOwner | null;
}

export interface OwnersOptions {
  procfs: string;
  /** --path.cgroupfs; '' finds the cgroup2 mount in mountinfo. */
  cgroupfs: string;
  /** Look up listeners' processes in /proc/PID/fd. */
  processes: boolean;
  /** Time per scrape the process scan may take, in milliseconds. */
  processBudgetMs: number;
  /** The running kernel's release (os.release()), for the pre-5.15 net_cls caveat. */
  kernel: string;
}

/** Processes of the listeners' cgroups looked at before a full pass. */
const LIKELY_PIDS = 256;

function kernelBefore(release: string, major: number, minor: number): boolean {
  const [a = 0, b = 0] = release.split(/[.-]/).map(Number);
  return a < major || (a === major && b < minor);
}

export class Owners {
  readonly mount: CgroupMount | null;
  private readonly index: CgroupIndex | null;
  private readonly processIndex: ProcessIndex | null;
  private readonly rootCaveat: boolean;
  /** Whether any socket seen so far carried a cgroup id (the kernel sends them: 5.8+). */
  private sawIds = false;
  /** The listener inodes of each namespace, by its inode (0: the exporter's own). */
  private readonly claimed = new Map<number, Set<number>>();
  /** Inode -> how many scopes list it. */
  private readonly claims = new Map<number, number>();

  constructor(readonly options: OwnersOptions) {
    this.mount = findCgroup2Mount(options.procfs, options.cgroupfs);
    this.index = this.mount ? new CgroupIndex(this.mount) : null;
    this.processIndex = options.processes ? new Processes(options.procfs) : null;
    // Before 5.15 a socket created while net_cls or net_prio is in use
    // reports the root cgroup, whoever made it.
    this.rootCaveat = kernelBefore(options.kernel, 5, 15) && netClassifierInUse(options.procfs);
  }

  /** Cgroup paths and identities for socket cgroup ids; 0 (none) is left out. */
  async cgroups(ids: Iterable<number>): Promise<Map<number, CgroupOwner>> {
    const out = new Map<number, CgroupOwner>();
    const wanted = [...ids].filter((id) => id !== 0);
    if (wanted.length > 0) this.sawIds = true;
    if (!this.index || wanted.length === 0) return out;
    for (const [id, path] of await this.index.resolve(wanted)) {
      const identity = parseCgroupPath(path);
      out.set(id, { id, path, label: cgroupLabel(path, identity), identity });
    }
    return out;
  }

  /**
   * The processes holding these socket inodes (listeners'), within the scan
   * budget. The processes of their cgroups (`cgroup.procs`) are looked at
   * first: on a busy host the owner is found without a pass over every
   * descriptor.
   */
  async processes(
    inodes: Iterable<number>,
    cgroups: Iterable<CgroupOwner> = [],
  ): Promise<Map<number, ProcessOwner>> {
    if (!this.processIndex) return new Map();
    return this.processIndex.find(inodes, this.options.processBudgetMs, this.pidsIn(cgroups));
  }

  /** PIDs in the cgroups (at most LIKELY_PIDS), from cgroup.procs under the mount. */
  private pidsIn(cgroups: Iterable<CgroupOwner>): number[] {
    if (!this.mount) return [];
    const pids = new Set<number>();
    for (const cgroup of cgroups) {
      if (cgroup.path === '/') continue; // the root holds everything unplaced: no hint
      let text: string;
      try {
        text = readFileSync(path.join(this.mount.path, cgroup.path, 'cgroup.procs'), 'utf8');
      } catch {
        continue; // gone, or unreadable
      }
      for (const line of text.split('\n')) {
        const pid = Number(line);
        if (line !== '' && Number.isInteger(pid) && pid > 0) pids.add(pid);
        if (pids.size >= LIKELY_PIDS) return [...pids];
      }
    }
    return [...pids];
  }

  /** Why owner labels may be empty or imprecise here, in words. */
  notes(): string[] {
    const notes: string[] = [];
    if (!this.mount) {
      notes.push(
        'no cgroup2 mount found (cgroup v1 only, or a mount namespace without it, as `ip netns exec` makes): cgroup, unit, pod and container labels are empty; pass --path.cgroupfs where the host mounts it',
      );
    }
    if (this.index && this.index.unreadable > 0) {
      notes.push(
        `${this.index.unreadable} cgroup directories under ${this.mount!.path} were unreadable`,
      );
    }
    if (!this.sawIds) {
      notes.push(
        'no socket carried a cgroup id yet: kernels before 5.8 do not send INET_DIAG_CGROUP_ID, and TIME_WAIT and SYN_RECV sockets never have one',
      );
    }
    if (this.rootCaveat) {
      notes.push(
        'this kernel (before 5.15) reports the root cgroup for sockets made while cgroup v1 net_cls or net_prio is in use: a socket in the root cgroup may belong to any service',
      );
    }
    if (!this.processIndex)
      notes.push('process lookup is off (--no-collector.listeners.processes)');
    else if (this.processIndex.unreadable > 0) {
      notes.push(
        `${this.processIndex.unreadable} processes' /proc/PID/fd could not be read (they belong to other users: it needs root or CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH); their listeners have no process label`,
      );
    }
    return notes;
  }

  /**
   * Keeps the process cache to the listeners still there. Each namespace
   * (`scope`: its inode; 0 for the exporter's own) says which are its own,
   * and an inode is forgotten only when no namespace lists it.
   */
  forgetExcept(inodes: Set<number>, scope = 0): void {
    this.unclaim(scope);
    this.claimed.set(scope, inodes);
    for (const inode of inodes) this.claims.set(inode, (this.claims.get(inode) ?? 0) + 1);
    this.processIndex?.keepOnly(this.claims);
  }

  /** A namespace is gone: its listeners no longer keep their owners cached. */
  forgetScope(scope: number): void {
    if (this.unclaim(scope)) this.processIndex?.keepOnly(this.claims);
  }

  /** Drops a scope's claims (counted per inode: a hundred namespaces' listeners are not re-added per call). */
  private unclaim(scope: number): boolean {
    const previous = this.claimed.get(scope);
    if (!previous) return false;
    this.claimed.delete(scope);
    for (const inode of previous) {
      const left = (this.claims.get(inode) ?? 1) - 1;
      if (left > 0) this.claims.set(inode, left);
      else this.claims.delete(inode);
    }
    return true;
  }
}

/** "nginx, nginx.service", "envoy, pod 7c1e..., container 3f2a..." or the path: who it is, in words. */
export function ownerText(owner: SocketOwner | undefined): string | null {
  if (!owner) return null;
  const parts: string[] = [];
  if (owner.process?.command) parts.push(owner.process.command);
  const identity = owner.cgroup?.identity;
  if (identity?.unit) parts.push(identity.unit);
  if (identity?.podUid) parts.push(`pod ${identity.podUid}`);
  if (identity?.containerId) parts.push(`container ${identity.containerId.slice(0, 12)}`);
  if (owner.cgroup && !identity?.unit && !identity?.podUid) parts.push(owner.cgroup.path);
  return parts.length > 0 ? parts.join(', ') : null;
}
