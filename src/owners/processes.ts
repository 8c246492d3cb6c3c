// Which process holds a listening socket: its inode appears as a
// "socket:[N]" link under some /proc/PID/fd. A full scan reads every
// descriptor on the host (ss -p does it on every call); here it runs only
// when a listener's inode is unknown, in slices of at most a few
// milliseconds on the event loop, within a time budget per scrape, and
// resumes where it stopped on the next scrape. Found inodes are kept.
//
// The slices hold within one process too: a process may hold 20,000
// descriptors, and reading them costs about 5 µs each (the directory
// listing builds a dentry per descriptor, readlink formats the target), so
// one process alone would take 100 ms. Its directory is read a few
// descriptors at a time, checking the clock, and a scan stopped by the
// budget goes on after the last descriptor it read.
import { type Dir, opendirSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';

export interface ProcessOwner {
  pid: number;
  /** The command name (/proc/PID/comm). */
  command: string;
}

const SLICE_MS = 4;
/** Descriptors read between two looks at the clock. */
const CLOCK_EVERY = 64;
/** Directory entries fetched per getdents call. */
const DIR_BUFFER = 512;
const SOCKET_PREFIX = 'socket:[';

/** Yields to the event loop between slices of the scan. */
const loopTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * A process whose descriptors were read only in part: `done` entries of its
 * fd directory so far. `dir` stays open between the slices of one scrape's
 * scan; the next scrape opens the directory again and skips `done` entries.
 */
interface Partial {
  pid: string;
  fdDir: string;
  dir: Dir | null;
  done: number;
  command: string | null;
}

export class ProcessIndex {
  private readonly owners = new Map<number, ProcessOwner>();
  /** PIDs left to read in the scan that is under way (popped from the end). */
  private pending: string[] = [];
  private partial: Partial | null = null;
  /** Inodes a whole pass did not find (their owners' fd unreadable): no new pass for them alone. */
  private notFound = new Set<number>();
  /** What the pass under way is looking for. */
  private sought = new Set<number>();
  private lastPass = -Infinity;
  /** /proc/PID/fd directories the last scans could not read (permissions). */
  unreadable = 0;
  private scanned = 0;
  /** Descriptors read so far (for the benchmark and /doctor). */
  descriptorsRead = 0;

  constructor(
    private readonly procfs: string,
    private readonly clock: () => number = () => performance.now(),
    private readonly retryMs = 60_000,
  ) {}

  /**
   * Owners of the inodes, scanning for unknown ones for at most `budgetMs`.
   * A new pass reads the processes in `likelyPids` first (those of the
   * listeners' cgroups).
   */
  async find(
    inodes: Iterable<number>,
    budgetMs: number,
    likelyPids: () => Iterable<string> = () => [],
  ): Promise<Map<number, ProcessOwner>> {
    const wanted = [...new Set(inodes)].filter((inode) => inode !== 0);
    const missing = new Set(wanted.filter((inode) => !this.owners.has(inode)));
    // Inodes a whole pass missed are retried only now and then, new ones at once.
    const worthAPass =
      [...missing].some((inode) => !this.notFound.has(inode)) ||
      this.clock() - this.lastPass >= this.retryMs;
    if (missing.size > 0 && budgetMs > 0 && (this.pending.length > 0 || worthAPass)) {
      await this.scan(missing, budgetMs, likelyPids);
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

  /** Whether a pass is under way (stopped by the budget, to go on next time). */
  get scanning(): boolean {
    return this.pending.length > 0 || this.partial !== null;
  }

  private async scan(
    missing: Set<number>,
    budgetMs: number,
    likelyPids: () => Iterable<string>,
  ): Promise<void> {
    const deadline = this.clock() + budgetMs;
    if (!this.scanning) {
      this.lastPass = this.clock();
      this.pending = this.pids(likelyPids);
      this.sought = new Set();
    }
    for (const inode of missing) this.sought.add(inode);
    try {
      while (this.scanning && this.sought.size > 0 && this.clock() < deadline) {
        const sliceEnd = Math.min(this.clock() + SLICE_MS, deadline);
        while (this.scanning && this.sought.size > 0 && this.clock() < sliceEnd) {
          this.partial = this.readProcess(this.partial ?? this.start(), this.sought, sliceEnd);
        }
        await loopTurn();
      }
    } finally {
      // No descriptor stays open from one scrape to the next.
      if (this.partial?.dir) {
        this.partial.dir.closeSync();
        this.partial.dir = null;
      }
    }
    // A finished pass: what it did not find stays unknown until a new inode asks again.
    if (!this.scanning || this.sought.size === 0) {
      this.pending = [];
      this.partial = null;
      this.notFound = new Set(this.sought);
    }
  }

  private start(): Partial {
    const pid = this.pending.pop()!;
    return { pid, fdDir: path.join(this.procfs, pid, 'fd'), dir: null, done: 0, command: null };
  }

  /** Every PID, `likely` ones last (the scan pops from the end). */
  private pids(likelyPids: () => Iterable<string>): string[] {
    let all: string[];
    try {
      this.unreadable = 0;
      all = readdirSync(this.procfs).filter((name) => /^\d+$/.test(name));
    } catch {
      return [];
    }
    let likely: Set<string>;
    try {
      likely = new Set([...likelyPids()].filter((pid) => /^\d+$/.test(pid)));
    } catch {
      likely = new Set();
    }
    if (likely.size === 0) return all;
    const present = new Set(all);
    return [
      ...all.filter((pid) => !likely.has(pid)),
      ...[...likely].filter((pid) => present.has(pid)),
    ];
  }

  /**
   * Reads the descriptors of one process after its first `done` until the
   * end (null) or past `until` (where it stopped, to resume). /proc lists
   * them in descriptor order, so one opened or closed between two scrapes
   * shifts the resumed read by at most that one.
   */
  private readProcess(at: Partial, missing: Set<number>, until: number): Partial | null {
    let dir = at.dir;
    if (!dir) {
      try {
        dir = opendirSync(at.fdDir, { bufferSize: DIR_BUFFER });
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'EACCES' || code === 'EPERM') this.unreadable++;
        return null; // EACCES, or the process exited
      }
      if (at.done === 0) this.scanned++;
      // A directory opened again: skip what an earlier scrape read.
      try {
        for (let skipped = 0; skipped < at.done; skipped++) if (dir.readSync() === null) break;
      } catch {
        dir.closeSync();
        return null;
      }
    }
    let read = 0;
    let finished = true;
    try {
      for (;;) {
        if (read % CLOCK_EVERY === CLOCK_EVERY - 1 && this.clock() >= until) {
          finished = false;
          return { ...at, dir, done: at.done + read };
        }
        const entry = dir.readSync();
        if (entry === null) return null;
        read++;
        const inode = socketInode(at.fdDir, entry.name);
        if (inode === 0 || !missing.has(inode)) continue;
        at.command ??= this.command(at.pid);
        this.owners.set(inode, { pid: Number(at.pid), command: at.command });
        missing.delete(inode);
        if (missing.size === 0) return null;
      }
    } catch {
      return null; // the process exited while we read
    } finally {
      this.descriptorsRead += read;
      if (finished) dir.closeSync();
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

/** The socket inode a descriptor link names ("socket:[N]"), 0 for anything else. */
function socketInode(fdDir: string, name: string): number {
  let link: string;
  try {
    link = readlinkSync(`${fdDir}/${name}`);
  } catch {
    return 0; // closed meanwhile
  }
  if (!link.startsWith(SOCKET_PREFIX) || !link.endsWith(']')) return 0;
  const inode = Number(link.slice(SOCKET_PREFIX.length, -1));
  return Number.isSafeInteger(inode) ? inode : 0;
}
