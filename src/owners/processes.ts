// Which process holds a listening socket: its inode appears as a
// "socket:[N]" link under some /proc/PID/fd. A full scan reads every
// descriptor on the host (ss -p does it on every call); here it runs only
// when a listener's inode is unknown, in slices of at most a few
// milliseconds on the event loop (a process with thousands of descriptors
// is read across slices), within a time budget per scrape, one scan at a
// time whoever asks, and resumes where it stopped on the next scrape.
// Found inodes are kept.
import { type Dir, opendirSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';

export interface ProcessOwner {
  pid: number;
  /** The command name (/proc/PID/comm). */
  command: string;
}

const SLICE_MS = 4;
/** The budget is per this window, shared by every caller. */
const BUDGET_WINDOW_MS = 1000;
/** Links read between two looks at the clock: a process may hold 20,000 descriptors. */
const LINKS_PER_CHECK = 64;
const SOCKET_LINK = /^socket:\[(\d+)\]$/;

/** Yields to the event loop between slices of the scan. */
const loopTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A process of the pass under way, and how far into its descriptors the pass got. */
interface PendingProcess {
  pid: string;
  /**
   * Its fd directory, read entry by entry: listing 20,000 descriptors at
   * once holds the event loop for 10 ms and more. Open only while this
   * process is the one being read (at most one at a time), closed when done.
   */
  dir?: Dir;
  /** Entries read so far. */
  next: number;
  command?: string;
}

function closeDir(process: PendingProcess): void {
  try {
    process.dir?.closeSync();
  } catch {
    // already closed
  }
  process.dir = undefined;
}

export class ProcessIndex {
  private readonly owners = new Map<number, ProcessOwner>();
  /** Processes left to read in the pass under way (the last is read first). */
  private pending: PendingProcess[] = [];
  /** Inodes a whole pass did not find (their owners' fd unreadable): no new pass for them alone. */
  private notFound = new Set<number>();
  /** What the pass under way is looking for, and what it looked for from its start. */
  private sought = new Set<number>();
  private soughtFromStart = new Set<number>();
  /** The processes the pass under way knew of (it reads those in `pending`). */
  private passPids = new Set<string>();
  private lastPass = -Infinity;
  /** Scan time spent recently: [start, milliseconds], oldest first. */
  private readonly spent: [number, number][] = [];
  /** The scan running now: callers that come meanwhile wait for it instead of scanning beside it. */
  private running: Promise<void> | null = null;
  /** /proc/PID/fd directories the last scans could not read (permissions). */
  unreadable = 0;
  private scanned = 0;

  constructor(
    private readonly procfs: string,
    private readonly clock: () => number = () => performance.now(),
    private readonly retryMs = 60_000,
  ) {}

  /**
   * Owners of the inodes, scanning for unknown ones for at most `budgetMs`;
   * the processes in `likely` (those in the listeners' cgroups) are read
   * first, before any pass over the rest.
   */
  async find(
    inodes: Iterable<number>,
    budgetMs: number,
    likely: readonly number[] = [],
  ): Promise<Map<number, ProcessOwner>> {
    const wanted = [...new Set(inodes)].filter((inode) => inode !== 0);
    let missing = wanted.filter((inode) => !this.owners.has(inode));
    if (missing.length > 0 && likely.length > 0 && !this.running) {
      const budget = this.available(budgetMs);
      if (budget > 0) {
        const started = this.clock();
        this.lookInto(likely, new Set(missing), started + budget);
        this.spend(started);
        missing = missing.filter((inode) => !this.owners.has(inode));
      }
    }
    if (missing.length > 0) {
      if (this.running) {
        // Join the pass under way; what it cannot find now, a later pass will.
        this.join(missing);
        await this.running;
      } else if (this.pending.length > 0 || this.worthAPass(missing)) {
        const budget = this.available(budgetMs);
        // Out of budget for now: a pass under way still looks for these
        // from its next call on. (They were left out: on a node with a
        // hundred namespaces, those scraped after the first in a second
        // never joined, and their owners stayed unknown for minutes.)
        if (budget <= 0) this.join(missing);
        if (budget > 0) {
          const started = this.clock();
          let used = 0;
          this.running = this.scan(missing, budget, (ms) => (used += ms)).finally(() => {
            this.spent.push([started, used]);
            this.running = null;
          });
          await this.running;
        }
      }
    }
    const out = new Map<number, ProcessOwner>();
    for (const inode of wanted) {
      const owner = this.owners.get(inode);
      if (owner) out.set(inode, owner);
    }
    return out;
  }

  /**
   * What is left of the budget: every caller (the exporter's own namespace
   * and each other one, scraped together) shares `budgetMs` per second, so
   * a hundred namespaces do not make a hundred budgets.
   */
  private available(budgetMs: number): number {
    const now = this.clock();
    while (this.spent.length > 0 && now - this.spent[0]![0] >= BUDGET_WINDOW_MS) this.spent.shift();
    return budgetMs - this.spent.reduce((sum, [, ms]) => sum + ms, 0);
  }

  private spend(started: number): void {
    this.spent.push([started, this.clock() - started]);
  }

  /** Reads the given processes whole (until the deadline) for `sought`. */
  private lookInto(pids: readonly number[], sought: Set<number>, deadline: number): void {
    for (const pid of pids) {
      if (sought.size === 0 || this.clock() >= deadline) return;
      const process: PendingProcess = { pid: String(pid), next: 0 };
      // Not resumed later: a process left unfinished at the deadline is let go.
      if (!this.readProcess(process, sought, deadline)) closeDir(process);
    }
  }

  /** Inodes a whole pass missed are retried only now and then, new ones at once. */
  private worthAPass(missing: number[]): boolean {
    return (
      missing.some((inode) => !this.notFound.has(inode)) ||
      this.clock() - this.lastPass >= this.retryMs
    );
  }

  /** Processes whose descriptors were read so far (for /doctor and tests). */
  get processesScanned(): number {
    return this.scanned;
  }

  /**
   * Reads for at most `budgetMs` of the event loop's time, counted per
   * slice (`used` hears of each): the turns between slices belong to the
   * rest of the scrape. A deadline on the clock instead gave a scan that
   * shares a busy loop (a hundred namespaces' collectors) a few slices a
   * second, and owners on a busy node took minutes to be found.
   */
  private async scan(
    missing: number[],
    budgetMs: number,
    used: (ms: number) => void,
  ): Promise<void> {
    let left = budgetMs;
    if (this.pending.length === 0) {
      this.lastPass = this.clock();
      const pids = this.pids();
      this.passPids = new Set(pids);
      this.pending = pids.map((pid) => ({ pid, next: 0 }));
      this.sought = new Set(missing);
      this.soughtFromStart = new Set(missing);
    }
    this.join(missing);
    while (this.pending.length > 0 && this.sought.size > 0 && left > 0) {
      const sliceStart = this.clock();
      const sliceEnd = sliceStart + Math.min(SLICE_MS, left);
      while (this.pending.length > 0 && this.sought.size > 0 && this.clock() < sliceEnd) {
        const process = this.pending[this.pending.length - 1]!;
        if (this.readProcess(process, this.sought, sliceEnd)) this.pending.pop();
      }
      const slice = this.clock() - sliceStart;
      left -= slice;
      used(slice);
      await loopTurn();
    }
    // A finished pass: what it looked for from its start and did not find
    // stays unknown until a new inode asks again; later arrivals get a pass.
    if (this.pending.length === 0 || this.sought.size === 0) {
      for (const process of this.pending) closeDir(process);
      this.pending = [];
      this.notFound = new Set([...this.sought].filter((inode) => this.soughtFromStart.has(inode)));
    }
  }

  /**
   * Adds inodes to the pass under way. A new one most likely belongs to a
   * process started since the pass began, which its list lacks: those are
   * read next (after the process being read, so that one directory at most
   * is open), not left to the pass after this one, minutes later on a host
   * with millions of descriptors.
   */
  private join(missing: readonly number[]): void {
    const fresh = missing.filter((inode) => !this.sought.has(inode));
    for (const inode of fresh) this.sought.add(inode);
    if (fresh.length === 0 || this.pending.length === 0) return;
    const started = this.listPids().filter((pid) => !this.passPids.has(pid));
    for (const pid of started) this.passPids.add(pid);
    const top = this.pending.length - 1;
    const at = this.pending[top]!.dir ? top : top + 1;
    this.pending.splice(at, 0, ...started.map((pid) => ({ pid, next: 0 })));
  }

  private pids(): string[] {
    this.unreadable = 0;
    return this.listPids();
  }

  private listPids(): string[] {
    try {
      return readdirSync(this.procfs).filter((name) => /^\d+$/.test(name));
    } catch {
      return [];
    }
  }

  /** Reads a process's descriptors for `sought` until `sliceEnd`; true once done with it. */
  private readProcess(process: PendingProcess, sought: Set<number>, sliceEnd: number): boolean {
    const fdDir = path.join(this.procfs, process.pid, 'fd');
    if (!process.dir) {
      try {
        process.dir = opendirSync(fdDir, { bufferSize: LINKS_PER_CHECK });
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'EACCES' || code === 'EPERM') this.unreadable++;
        return true; // EACCES, or the process exited
      }
      this.scanned++;
    }
    for (;;) {
      if (process.next % LINKS_PER_CHECK === 0 && process.next > 0 && this.clock() >= sliceEnd) {
        return false;
      }
      let fd: string | undefined;
      try {
        fd = process.dir.readSync()?.name;
      } catch {
        fd = undefined; // the process exited meanwhile
      }
      if (fd === undefined) break;
      process.next++;
      let link: string;
      try {
        link = readlinkSync(path.join(fdDir, fd));
      } catch {
        continue;
      }
      const match = SOCKET_LINK.exec(link);
      if (!match) continue;
      const inode = Number(match[1]);
      if (!sought.has(inode)) continue;
      process.command ??= this.command(process.pid);
      this.owners.set(inode, { pid: Number(process.pid), command: process.command });
      sought.delete(inode);
      this.sought.delete(inode);
      if (sought.size === 0) break;
    }
    closeDir(process);
    return true;
  }

  private command(pid: string): string {
    try {
      return readFileSync(path.join(this.procfs, pid, 'comm'), 'utf8').trim();
    } catch {
      return '';
    }
  }

  /** Forgets inodes no longer listening (sockets closed), so the map stays small. */
  keepOnly(inodes: ReadonlySet<number> | ReadonlyMap<number, unknown>): void {
    for (const inode of this.owners.keys()) if (!inodes.has(inode)) this.owners.delete(inode);
  }
}
