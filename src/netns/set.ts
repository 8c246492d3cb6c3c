// The namespaces the exporter serves besides its own: discovered, filtered
// (include/exclude over name, pod UID and cgroup; a limit), each with one
// long-lived sock_diag socket, opened once and closed as soon as the
// namespace is no longer found, so that the exporter never keeps a dead
// namespace (and its devices) alive. A timer refreshes the set between
// scrapes too, for the same reason. With the closed collector, up to its
// limit of namespaces also get a destroy-event subscriber, which pins the
// namespace just as the handle does: both are opened and closed together.
import type { Logger } from 'pino';
import type { ClosedTracker } from '../closed/tracker';
import { type NamespaceHandle, openNamespace, readNamespaceFiles } from '../diag';
import { CapabilityError, type ExporterError } from '../errors';
import { type Capability, missingCapabilities } from '../procfs/capabilities';
import {
  type Discovery,
  Discoverer,
  type NamespaceEntry,
  netnsLabel,
  stillThere,
} from './discovery';

/** How the set opens a namespace's closed-connection tracker (the closed collector). */
export interface ClosedSubscriptions {
  /** Most namespaces with a tracker, the lowest inodes first. */
  limit: number;
  open(entry: NamespaceEntry, handle: NamespaceHandle): Promise<ClosedTracker>;
}

export interface NamespaceSetOptions {
  procfs: string;
  runDirs?: readonly string[];
  include: RegExp | null;
  exclude: RegExp | null;
  limit: number;
  /** Namespaces that get the full tier whatever their hash. */
  full: RegExp | null;
  log: Logger;
  /** How often discovery reads every process again, settled ones included (ms). */
  rereadMs?: number;
  /** Seconds between refreshes without a scrape (0: only at scrapes). */
  refreshSeconds?: number;
  /** Opens at once at most this many namespaces. */
  concurrency?: number;
  closed?: ClosedSubscriptions;
}

export interface TrackedNamespace {
  entry: NamespaceEntry;
  label: string;
  handle: NamespaceHandle;
  /** Its own established hash (net.ipv4.tcp_child_ehash_entries at its creation): a full dump is cheap. */
  privateHash: boolean;
  /** Whether it gets the full tier (the whole table) or the cheap one. */
  full: boolean;
  /** Its closed connections, when it has a subscriber. */
  closed?: ClosedTracker;
}

export interface Refresh {
  tracked: TrackedNamespace[];
  /** Found besides the exporter's own. */
  discovered: number;
  /** Left out by include/exclude. */
  filtered: number;
  beyondLimit: number;
  /** /proc/PID/ns/net unreadable: processes of other users without CAP_SYS_PTRACE. */
  unreadable: number;
  /** Tracked namespaces without a closed-connection subscriber: beyond its limit, or failed. */
  withoutClosed: number;
}

/** Runs `work` over `items` with at most `limit` at once. */
export async function eachLimited<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const runners = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await work(items[next++]!);
  });
  await Promise.all(runners);
}

const WHY: Record<string, string> = {
  CAP_SYS_ADMIN: 'CAP_SYS_ADMIN to enter network namespaces (setns)',
  CAP_SYS_PTRACE: "CAP_SYS_PTRACE to read other users' /proc/PID/ns/net",
};

function capabilityError(missing: Capability[]): ExporterError {
  return new CapabilityError(
    `the netns collector needs ${missing.map((c) => WHY[c]).join(' and ')}, which this process lacks: run it as root, or grant ${missing.join(' and ')} (systemd AmbientCapabilities=, Kubernetes securityContext.capabilities.add)`,
  );
}

/** Everything that pins a namespace, closed at once: its subscriber and its handle. */
function release(tracked: TrackedNamespace): void {
  tracked.closed?.close();
  tracked.handle.close();
}

function matchesAny(pattern: RegExp | null, entry: NamespaceEntry): boolean {
  if (!pattern) return false;
  const fields = [netnsLabel(entry), entry.identity.podUid ?? '', entry.cgroup ?? ''];
  return fields.some((field) => field !== '' && pattern.test(field));
}

/** Settled processes are read again every 5 minutes (discovery.ts says why at all). */
const DEFAULT_REREAD_MS = 5 * 60_000;

export class NamespaceSet {
  private readonly tracked = new Map<number, TrackedNamespace>();
  private refreshing: Promise<Refresh> | null = null;
  /** Inode -> when a namespace whose subscription failed may be tried again. */
  private readonly closedRetryAt = new Map<number, number>();
  private timer: NodeJS.Timeout | null = null;
  private readonly discoverer: Discoverer;

  constructor(private readonly options: NamespaceSetOptions) {
    this.discoverer = new Discoverer({
      procfs: options.procfs,
      ...(options.runDirs ? { runDirs: options.runDirs } : {}),
      rereadMs: options.rereadMs ?? DEFAULT_REREAD_MS,
    });
    const seconds = options.refreshSeconds ?? 30;
    if (seconds > 0) {
      this.timer = setInterval(() => void this.refresh().catch(() => {}), seconds * 1000);
      this.timer.unref();
    }
  }

  /** Discovers again, opens the new namespaces and closes the vanished ones. */
  refresh(): Promise<Refresh> {
    this.refreshing ??= this.doRefresh().finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  private async doRefresh(): Promise<Refresh> {
    // Without these nothing can be seen or entered: say which, rather than
    // report no namespaces (or an errno of whatever failed first).
    const missing = missingCapabilities(['CAP_SYS_ADMIN', 'CAP_SYS_PTRACE']);
    if (missing.length > 0) throw capabilityError(missing);
    const discovery = this.discoverer.discover();
    const { wanted, candidates, filtered, beyondLimit } = this.select(discovery);
    for (const [inode, tracked] of this.tracked) {
      if (wanted.has(inode)) continue;
      release(tracked);
      this.tracked.delete(inode);
    }
    const fresh = [...wanted.values()].filter((entry) => !this.tracked.has(entry.inode));
    let denied: Error | null = null;
    await eachLimited(fresh, this.options.concurrency ?? 4, async (entry) => {
      try {
        await this.open(entry);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        // Gone since discovery, or a stale file that is no namespace: skip it.
        if (code === 'ENOENT' || code === 'EINVAL' || code === 'ESRCH') return;
        denied ??= error as Error;
      }
    });
    // Entering another namespace needs CAP_SYS_ADMIN: without it nothing opens.
    if (denied && this.tracked.size === 0 && fresh.length > 0) throw denied;
    for (const entry of wanted.values()) {
      const tracked = this.tracked.get(entry.inode);
      if (tracked) tracked.entry = entry;
    }
    const tracked = [...this.tracked.values()].sort((a, b) => a.entry.inode - b.entry.inode);
    await this.subscribe(tracked);
    return {
      tracked,
      discovered: candidates,
      filtered,
      beyondLimit,
      unreadable: discovery.unreadable,
      withoutClosed: this.options.closed ? tracked.filter((t) => !t.closed).length : 0,
    };
  }

  private select(discovery: Discovery): {
    wanted: Map<number, NamespaceEntry>;
    candidates: number;
    filtered: number;
    beyondLimit: number;
  } {
    const { include, exclude, limit } = this.options;
    const candidates = discovery.namespaces
      .filter((entry) => entry.inode !== discovery.ownInode)
      .sort((a, b) => a.inode - b.inode);
    const kept = candidates.filter(
      (entry) => (!include || matchesAny(include, entry)) && !matchesAny(exclude, entry),
    );
    const wanted = new Map(kept.slice(0, limit).map((entry) => [entry.inode, entry]));
    return {
      wanted,
      candidates: candidates.length,
      filtered: candidates.length - kept.length,
      beyondLimit: Math.max(kept.length - limit, 0),
    };
  }

  private async open(entry: NamespaceEntry): Promise<void> {
    const handle = await openNamespace(entry.path);
    if (handle.inode !== entry.inode) {
      // The path now leads elsewhere (a pid reused): take it next time.
      handle.close();
      return;
    }
    // Inside a namespace tcp_ehash_entries reads negative while it shares
    // the host's hash, positive when it got its own (6.1+).
    let privateHash = false;
    try {
      const [file] = await readNamespaceFiles(handle, ['/proc/sys/net/ipv4/tcp_ehash_entries']);
      privateHash = Number(file?.content?.trim()) > 0;
    } catch {
      privateHash = false;
    }
    const label = netnsLabel(entry);
    const full = privateHash || matchesAny(this.options.full, entry);
    this.tracked.set(entry.inode, { entry, label, handle, privateHash, full });
  }

  /**
   * Gives closed-connection trackers to the namespaces without one, lowest
   * inodes first, while the limit allows; one that fails is tried again at
   * a refresh a minute later.
   */
  private async subscribe(tracked: TrackedNamespace[]): Promise<void> {
    const closed = this.options.closed;
    if (!closed) return;
    const now = Date.now();
    for (const inode of this.closedRetryAt.keys()) {
      if (!this.tracked.has(inode)) this.closedRetryAt.delete(inode);
    }
    const room = closed.limit - tracked.filter((t) => t.closed).length;
    const waiting = tracked
      .filter((t) => !t.closed && (this.closedRetryAt.get(t.entry.inode) ?? 0) <= now)
      .slice(0, Math.max(room, 0));
    await eachLimited(waiting, this.options.concurrency ?? 4, async (t) => {
      try {
        const tracker = await closed.open(t.entry, t.handle);
        // Gone meanwhile, or its path now leads to another namespace.
        if (t.handle.closed || this.tracked.get(t.entry.inode) !== t || !stillThere(t.entry)) {
          tracker.close();
          return;
        }
        t.closed = tracker;
        this.closedRetryAt.delete(t.entry.inode);
      } catch (error) {
        // Not at every scrape: a minute later.
        this.closedRetryAt.set(t.entry.inode, Date.now() + 60_000);
        this.options.log.warn(
          { err: error, netns: t.label },
          'closed connections: no destroy-event subscriber in this namespace',
        );
      }
    });
  }

  /** Closes one namespace's handle now (it vanished mid-scrape). */
  forget(inode: number): void {
    const tracked = this.tracked.get(inode);
    if (!tracked) return;
    release(tracked);
    this.tracked.delete(inode);
  }

  /** Closes every handle (shutdown). */
  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    for (const tracked of this.tracked.values()) release(tracked);
    this.tracked.clear();
  }

  get size(): number {
    return this.tracked.size;
  }
}
