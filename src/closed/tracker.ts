// One namespace's closed connections: a long-lived destroy-event
// subscriber (its own receiver thread; JavaScript only adds up batches),
// the tally it feeds, and what the classifier needs to know about the
// namespace: its listening ports, refreshed every few seconds by a
// LISTEN-only dump (microseconds), and its ephemeral port range.
//
// Lost events (the kernel's receive buffer overran, or this process did not
// read in time) are counted, never fatal. A subscriber that fails is
// reopened after a pause; the tally, and so every counter, carries on.
import type { Logger } from 'pino';
import {
  DestroySubscriber,
  type DestroySubscriberOptions,
  type DestroySubscriberStats,
  type SocketBatch,
} from '../diag';
import { DEFAULT_PORT_RANGE, type PortRange } from '../procfs/sysctl';
import type { PortContext } from './classify';
import type { ClosedFacts } from './facts';
import { ClosedTally } from './tally';

/** What the tracker reads events from: a DestroySubscriber (tests hand it canned batches). */
export interface EventSource {
  next(): Promise<SocketBatch | null>;
  stats(): DestroySubscriberStats;
  close(): void;
}

export interface ClosedTrackerOptions {
  /** The namespace to subscribe in (a path to its nsfs file); absent: our own. */
  netns?: string;
  /** Also UDP sockets (DNS alone can flood the subscriber). */
  udp: boolean;
  portsLimit: number;
  receiveBufferBytes: number;
  /** Batches held for JavaScript before events are dropped. */
  queueBatches?: number;
  /** The namespace's listening TCP ports now. */
  listenerPorts: () => Promise<number[]>;
  portRange: () => Promise<PortRange>;
  log: Logger;
  refreshSeconds?: number;
  retrySeconds?: number;
  clock?: () => number;
  /** Default DestroySubscriber.open. */
  subscribe?: (options: DestroySubscriberOptions) => Promise<EventSource>;
}

/** A port that stopped listening is a service port this long still: its accepted connections outlive it. */
export const LISTENER_GRACE_MS = 10 * 60_000;

export interface ClosedStats {
  events: number;
  kernelDrops: number;
  queueDrops: number;
  overruns: number;
  lost: number;
  receiveBufferBytes: number;
  receiveBufferForced: boolean;
}

export class ClosedTracker {
  readonly tally: ClosedTally;
  private subscriber: EventSource | null = null;
  private opening: Promise<void> | null = null;
  private failure: Error | null = null;
  private isClosed = false;
  private refreshTimer: NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  /** Listening port -> when it was last seen listening. */
  private readonly listening = new Map<number, number>();
  /** What earlier subscribers (before a reopen) counted. */
  private readonly before = { events: 0, kernelDrops: 0, queueDrops: 0, overruns: 0 };
  private readonly clock: () => number;
  private readonly context: PortContext;

  constructor(private readonly options: ClosedTrackerOptions) {
    this.clock = options.clock ?? Date.now;
    this.tally = new ClosedTally(options.portsLimit, this.clock);
    const listening = this.listening;
    this.context = { isService: (port) => listening.has(port), ephemeral: DEFAULT_PORT_RANGE };
  }

  /** Subscribes, learns the listeners, starts adding up; rejects when the subscription fails. */
  start(): Promise<void> {
    this.opening ??= this.open();
    if (!this.refreshTimer) {
      const every = (this.options.refreshSeconds ?? 5) * 1000;
      this.refreshTimer = setInterval(() => void this.refresh(), every);
      this.refreshTimer.unref();
    }
    return this.opening;
  }

  /** Resolves once subscribed; throws why not when the last attempt failed. */
  async ready(): Promise<void> {
    if (!this.opening) throw new Error('the closed-connection tracker was never started');
    await this.opening.catch(() => {});
    if (this.failure) throw this.failure;
  }

  private async open(): Promise<void> {
    const { options } = this;
    const subscribe = options.subscribe ?? ((o) => DestroySubscriber.open(o));
    try {
      const subscriber = await subscribe({
        protocols: options.udp ? ['tcp', 'udp'] : ['tcp'],
        receiveBufferBytes: options.receiveBufferBytes,
        ...(options.queueBatches ? { queueBatches: options.queueBatches } : {}),
        ...(options.netns ? { netns: options.netns } : {}),
      });
      if (this.isClosed) {
        subscriber.close();
        return;
      }
      this.subscriber = subscriber;
      this.failure = null;
      // The listeners first: the events queued meanwhile wait in the addon.
      await this.refresh();
      void this.pump(subscriber);
    } catch (error) {
      this.fail(error as Error);
      throw error;
    }
  }

  private async pump(subscriber: EventSource): Promise<void> {
    const gone = (port: number) => {
      if (this.listening.has(port)) this.listening.set(port, this.clock());
    };
    try {
      for (;;) {
        const batch = await subscriber.next();
        if (batch === null) return;
        this.tally.add(batch, this.context, gone);
      }
    } catch (error) {
      if (this.subscriber === subscriber) this.fail(error as Error);
    }
  }

  /** Keeps what the failed subscriber counted, lets it go, and tries again later. */
  private fail(error: Error): void {
    // The same failure again at each retry is logged once.
    const again = this.failure?.message === error.message;
    this.failure = error;
    const subscriber = this.subscriber;
    if (subscriber) {
      const stats = subscriber.stats();
      this.before.events += stats.events;
      this.before.kernelDrops += stats.kernelDrops;
      this.before.queueDrops += stats.queueDrops;
      this.before.overruns += stats.overruns;
      subscriber.close();
      this.subscriber = null;
    }
    this.options.log[again ? 'debug' : 'warn'](
      { err: error, netns: this.options.netns },
      'closed connections: the destroy-event subscriber failed; retrying',
    );
    if (this.isClosed || this.retryTimer) return;
    this.retryTimer = setTimeout(
      () => {
        this.retryTimer = null;
        if (this.isClosed) return;
        this.opening = this.open();
        this.opening.catch(() => {});
      },
      (this.options.retrySeconds ?? 30) * 1000,
    );
    this.retryTimer.unref();
  }

  /** Listeners and the port range again; places unused for long are given up. */
  async refresh(): Promise<void> {
    try {
      this.noteListeners(await this.options.listenerPorts());
    } catch (error) {
      // The namespace may be going: keep what was known.
      this.options.log.debug({ err: error }, 'closed connections: listener refresh failed');
    }
    try {
      this.context.ephemeral = (await this.options.portRange()).range;
    } catch {
      // unreadable: the default range stands
    }
    this.tally.retire();
  }

  /** Ports listening now (a scrape's listener dump, or the refresh's). */
  noteListeners(ports: Iterable<number>): void {
    const now = this.clock();
    for (const port of ports) this.listening.set(port, now);
    for (const [port, seen] of this.listening) {
      if (now - seen > LISTENER_GRACE_MS) this.listening.delete(port);
    }
  }

  stats(): ClosedStats {
    const now: Partial<DestroySubscriberStats> = this.subscriber?.stats() ?? {};
    const kernelDrops = this.before.kernelDrops + (now.kernelDrops ?? 0);
    const queueDrops = this.before.queueDrops + (now.queueDrops ?? 0);
    return {
      events: this.before.events + (now.events ?? 0),
      kernelDrops,
      queueDrops,
      overruns: this.before.overruns + (now.overruns ?? 0),
      lost: kernelDrops + queueDrops,
      receiveBufferBytes: now.receiveBufferBytes ?? 0,
      receiveBufferForced: now.receiveBufferForced ?? false,
    };
  }

  facts(now = this.clock()): ClosedFacts {
    return this.tally.facts(this.stats().lost, now);
  }

  /** For /doctor: lost events (the figures are a lower bound), a failed subscriber. */
  notes(where = ''): string[] {
    const notes: string[] = [];
    const stats = this.stats();
    if (stats.lost > 0) {
      const buffer = stats.receiveBufferBytes
        ? `; the kernel granted a receive buffer of ${stats.receiveBufferBytes} bytes${stats.receiveBufferForced ? '' : ' (capped by net.core.rmem_max: SO_RCVBUFFORCE needs CAP_NET_ADMIN)'}`
        : '';
      notes.push(
        `closed connections${where}: ${stats.lost} destroy events lost since the subscription (${stats.kernelDrops} dropped by the kernel in ${stats.overruns} receive buffer overruns, ${stats.queueDrops} not read in time): the closed-connection counts and histograms are a lower bound${buffer}; raise --collector.closed.receive-buffer-bytes`,
      );
    }
    if (this.failure) {
      notes.push(
        `closed connections${where}: the destroy-event subscriber failed (${this.failure.message}); retrying every ${this.options.retrySeconds ?? 30} s`,
      );
    }
    return notes;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Stops the receiver thread and the timers; the namespace is no longer pinned. */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    if (this.refreshTimer) clearInterval(this.refreshTimer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.refreshTimer = null;
    this.retryTimer = null;
    this.subscriber?.close();
    this.subscriber = null;
  }
}
