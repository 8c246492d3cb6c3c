// Which process holds a listening socket: its inode appears as a
// "socket:[N]" link under some /proc/PID/fd. A full scan reads every
// descriptor on the host (ss -p does it on every call); here it runs only
// when a listener's inode is unknown, in slices of at most a few
// milliseconds on the event loop, within a time budget per scrape, and
// resumes where it stopped on the next scrape. Found inodes are kept.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';

export interface ProcessOwner {
  pid: number;
  /** The command name (/proc/PID/comm). */
  command: string;
}

const SLICE_MS = 4;
const SOCKET_LINK = /^socket:\[(\d+)\]$/;

/** Yields to the event loop between slices of the scan. */
const loopTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

export class ProcessIndex {
  private readonly owners = new Map<number, ProcessOwner>();
  /** PIDs left to read in the scan that is under way. */
  private pending: string[] = [];
  /** Inodes a whole pass did not find (their owners' fd unreadable): no new pass for them alone. */
  private notFound = new Set<number>();
  /** What the pass under way is looking for. */
  private sought = new Set<number>();
  private lastPass = -Infinity;
  /** /proc/PID/fd directories the last scans could not read (permissions). */
  unreadable = 0;
  private scanned = 0;

  constructor(
    private readonly procfs: string,
    private readonly clock: () => number = () => performance.now(),
    private readonly retryMs = 60_000,
  ) {}

  /** Owners of the inodes, scanning for unknown ones for at most `budgetMs`. */
  async find(inodes: Iterable<number>, budgetMs: number): Promise<Map<number, ProcessOwner>> {
    const wanted = [...new Set(inodes)].filter((inode) => inode !== 0);
    const missing = new Set(wanted.filter((inode) => !this.owners.has(inode)));
    // Inodes a whole pass missed are retried only now and then, new ones at once.
    const worthAPass =
      [...missing].some((inode) => !this.notFound.has(inode)) ||
      this.clock() - this.lastPass >= this.retryMs;
    if (missing.size > 0 && budgetMs > 0 && (this.pending.length > 0 || worthAPass)) {
      await this.scan(missing, budgetMs);
    }
    const out = new Map<number, ProcessOwner>();
    for (const inode of wanted) {
      const owner = this.owners.get(inode);
      if (owner) out.set(inode, owner);
    }
    return out;
  }

  /** Processes whose descriptors were read so far (for /doctor and tests). */
  get processesScanned(): number {
    return this.scanned;
  }

  private async scan(missing: Set<number>, budgetMs: number): Promise<void> {
    const deadline = this.clock() + budgetMs;
    if (this.pending.length === 0) {
      this.lastPass = this.clock();
      this.pending = this.pids();
      this.sought = new Set();
    }
    for (const inode of missing) this.sought.add(inode);
    while (this.pending.length > 0 && this.sought.size > 0 && this.clock() < deadline) {
      const sliceEnd = Math.min(this.clock() + SLICE_MS, deadline);
      while (this.pending.length > 0 && this.sought.size > 0 && this.clock() < sliceEnd) {
        this.readProcess(this.pending.pop()!, this.sought);
      }
      await loopTurn();
    }
    // A finished pass: what it did not find stays unknown until a new inode asks again.
    if (this.pending.length === 0 || this.sought.size === 0) {
      this.pending = [];
      this.notFound = new Set(this.sought);
    }
  }

  private pids(): string[] {
    try {
      this.unreadable = 0;
      return readdirSync(this.procfs).filter((name) => /^\d+$/.test(name));
    } catch {
      return [];
    }
  }

  private readProcess(pid: string, missing: Set<number>): void {
    const fdDir = path.join(this.procfs, pid, 'fd');
    let fds: string[];
    try {
      fds = readdirSync(fdDir);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EACCES' || code === 'EPERM') this.unreadable++;
      return; // EACCES, or the process exited
    }
    this.scanned++;
    let command: string | null = null;
    for (const fd of fds) {
      let link: string;
      try {
        link = readlinkSync(path.join(fdDir, fd));
      } catch {
        continue;
      }
      const match = SOCKET_LINK.exec(link);
      if (!match) continue;
      const inode = Number(match[1]);
      if (!missing.has(inode)) continue;
      command ??= this.command(pid);
      this.owners.set(inode, { pid: Number(pid), command });
      missing.delete(inode);
    }
  }

  private command(pid: string): string {
    try {
      return readFileSync(path.join(this.procfs, pid, 'comm'), 'utf8').trim();
    } catch {
      return '';
    }
  }

  /** Forgets inodes no longer listening (sockets closed), so the map stays small. */
  keepOnly(inodes: Set<number>): void {
    for (const inode of this.owners.keys()) if (!inodes.has(inode)) this.owners.delete(inode);
  }
}
