// Closed connections added up per (service port, direction), in bounded
// memory: the first `portsLimit` pairs seen get their own counters and
// histograms, later ones are counted in port "other" (per direction), and
// outbound connections the kernel wiped before the event (their remote
// port is gone) in port "unknown". A pair that sees no close for
// RETIRE_MS gives its place up, so a port seen once at start does not hold
// it for good; its series end then, and start again from zero if it comes
// back (a counter reset, which rate() handles).
import type { SocketBatch } from '../diag';
import { Histogram } from '../scan/histogram';
import { RTT_BUCKETS } from '../scan/table-scan';
import {
  classify,
  type Direction,
  emptyVerdict,
  NO_RTT_SAMPLE,
  OUTCOMES,
  OutcomeIndex,
  type PortContext,
} from './classify';
import type { ClosedFacts, ClosedPortFacts } from './facts';

/** Payload buckets, bytes: a small request up to a bulk transfer. */
export const BYTE_BUCKETS = [
  64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864, 268435456,
];
/** Segments both ways, handshake and FINs included: about 10 for one small request. */
export const SEGMENT_BUCKETS = [4, 8, 12, 16, 32, 64, 128, 256, 1024, 4096, 16384];
/** Retransmitted segments per connection. */
export const RETRANSMIT_BUCKETS = [0, 1, 2, 4, 8, 16, 32, 64];

/** A pair with no close for this long gives its place up. */
export const RETIRE_MS = 15 * 60_000;
/** The rate window of the incident facts: SLOTS slots of SLOT_MS. */
const SLOT_MS = 5000;
const SLOTS = 12;
/** Recent sizes kept per pair for the facts' medians. */
const RECENT = 128;

export interface ConnectionHistograms {
  receivedBytes: Histogram;
  ackedBytes: Histogram;
  segments: Histogram;
  minRttSeconds: Histogram;
  retransmittedSegments: Histogram;
}

export class PortEntry {
  /** Closes by outcome, in OUTCOMES order. */
  readonly outcomes = new Float64Array(OUTCOMES.length);
  readonly histograms: ConnectionHistograms | null;
  lastAt = 0;
  private readonly slotCounts = new Float64Array(SLOTS);
  private readonly slotIds = new Float64Array(SLOTS).fill(-1);
  private readonly recentBytes: Float64Array | null;
  private readonly recentSegments: Float64Array | null;
  private recentCount = 0;

  /** `port`: the service port, or "other" / "unknown" (counters only). */
  constructor(
    readonly port: number | 'other' | 'unknown',
    readonly direction: Direction,
  ) {
    const own = typeof port === 'number';
    this.histograms = own
      ? {
          receivedBytes: new Histogram(BYTE_BUCKETS),
          ackedBytes: new Histogram(BYTE_BUCKETS),
          segments: new Histogram(SEGMENT_BUCKETS),
          minRttSeconds: new Histogram(RTT_BUCKETS),
          retransmittedSegments: new Histogram(RETRANSMIT_BUCKETS),
        }
      : null;
    this.recentBytes = own ? new Float64Array(RECENT) : null;
    this.recentSegments = own ? new Float64Array(RECENT) : null;
  }

  count(outcome: OutcomeIndex, now: number): void {
    this.outcomes[outcome]!++;
    this.lastAt = now;
    const slot = Math.floor(now / SLOT_MS);
    const index = slot % SLOTS;
    if (this.slotIds[index] !== slot) {
      this.slotIds[index] = slot;
      this.slotCounts[index] = 0;
    }
    this.slotCounts[index]!++;
  }

  /** One connection that carried traffic: its sizes, segments, RTT, retransmissions. */
  measure(batch: SocketBatch, row: number): void {
    const h = this.histograms;
    if (!h) return;
    const c = batch.columns;
    const received = c.bytesReceived![row]!;
    const acked = c.bytesAcked![row]!;
    const segments = c.segsOut![row]! + c.segsIn![row]!;
    h.receivedBytes.observe(received);
    h.ackedBytes.observe(acked);
    h.segments.observe(segments);
    h.retransmittedSegments.observe(c.totalRetrans![row]!);
    const minRtt = c.minRtt![row]!;
    if (minRtt !== NO_RTT_SAMPLE && minRtt > 0) h.minRttSeconds.observe(minRtt / 1e6);
    const at = this.recentCount++ % RECENT;
    this.recentBytes![at] = received + acked;
    this.recentSegments![at] = segments;
  }

  get total(): number {
    let sum = 0;
    for (const n of this.outcomes) sum += n;
    return sum;
  }

  /** Closes in the slots that end within the window before `now`. */
  closesSince(now: number): number {
    const newest = Math.floor(now / SLOT_MS);
    let sum = 0;
    for (let i = 0; i < SLOTS; i++) {
      if (this.slotIds[i]! > newest - SLOTS) sum += this.slotCounts[i]!;
    }
    return sum;
  }

  /** Medians of the recent connections that carried traffic (NaN for none). */
  medians(): { bytes: number; segments: number } {
    const n = Math.min(this.recentCount, RECENT);
    return {
      bytes: median(this.recentBytes, n),
      segments: median(this.recentSegments, n),
    };
  }
}

function median(values: Float64Array | null, n: number): number {
  if (!values || n === 0) return Number.NaN;
  const sorted = values.slice(0, n).sort();
  return n % 2 === 1 ? sorted[(n - 1) / 2]! : (sorted[n / 2 - 1]! + sorted[n / 2]!) / 2;
}

const key = (port: number, direction: Direction) => port * 2 + (direction === 'outbound' ? 1 : 0);

export class ClosedTally {
  private readonly entries = new Map<number, PortEntry>();
  private readonly other: Record<Direction, PortEntry> = {
    inbound: new PortEntry('other', 'inbound'),
    outbound: new PortEntry('other', 'outbound'),
  };
  readonly unknown = new PortEntry('unknown', 'outbound');
  /** UDP sockets closed, by key(port, direction); port 0 = not connected. */
  readonly udp = new Map<number, number>();
  readonly udpOther: Record<Direction, number> = { inbound: 0, outbound: 0 };
  /** Events that were no connection (listeners, unconnected sockets). */
  notConnections = 0;
  private readonly verdict = emptyVerdict();
  readonly startedAt: number;

  constructor(
    readonly portsLimit: number,
    private readonly clock: () => number = Date.now,
  ) {
    this.startedAt = clock();
  }

  /** Adds one batch of destroy events; `onListenerGone` hears of listeners that closed. */
  add(batch: SocketBatch, context: PortContext, onListenerGone?: (port: number) => void): void {
    const now = this.clock();
    const verdict = this.verdict;
    for (let row = 0; row < batch.count; row++) {
      classify(batch, row, context, verdict);
      if (!verdict.connection) {
        this.notConnections++;
        const port = batch.columns.localPort[row]!;
        if (port !== 0 && verdict.protocol === 'tcp') onListenerGone?.(port);
        continue;
      }
      if (verdict.protocol === 'udp') {
        this.addUdp(verdict.port, verdict.direction);
        continue;
      }
      const entry = verdict.port === 0 ? this.unknown : this.entry(verdict.port, verdict.direction);
      entry.count(verdict.outcome, now);
      const carried =
        verdict.measured &&
        verdict.outcome !== OutcomeIndex.Failed &&
        verdict.outcome !== OutcomeIndex.Aborted;
      if (carried) entry.measure(batch, row);
    }
  }

  private entry(port: number, direction: Direction): PortEntry {
    const k = key(port, direction);
    let entry = this.entries.get(k);
    if (entry) return entry;
    if (this.entries.size >= this.portsLimit) return this.other[direction];
    entry = new PortEntry(port, direction);
    this.entries.set(k, entry);
    return entry;
  }

  private addUdp(port: number, direction: Direction): void {
    const k = key(port, direction);
    const seen = this.udp.get(k);
    if (seen !== undefined) this.udp.set(k, seen + 1);
    else if (this.udp.size < this.portsLimit) this.udp.set(k, 1);
    else this.udpOther[direction]++;
  }

  /** Gives up the places of pairs with no close for RETIRE_MS. */
  retire(now = this.clock()): void {
    for (const [k, entry] of this.entries) {
      if (now - entry.lastAt > RETIRE_MS) this.entries.delete(k);
    }
  }

  /** Every pair with its own series, busiest first, then "other" and "unknown" when used. */
  list(): PortEntry[] {
    const own = [...this.entries.values()].sort(
      (a, b) => b.total - a.total || Number(a.port) - Number(b.port),
    );
    const extra = [this.other.inbound, this.other.outbound, this.unknown].filter(
      (e) => e.total > 0,
    );
    return [...own, ...extra];
  }

  /** Rates and medians over the last minute, busiest first, for the incident checks. */
  facts(lost: number, now = this.clock(), limit = 8): ClosedFacts {
    // The slots cover the current one and the SLOTS - 1 before it.
    const from = Math.max(this.startedAt, (Math.floor(now / SLOT_MS) - SLOTS + 1) * SLOT_MS);
    const seconds = Math.max((now - from) / 1000, 1);
    const ports: ClosedPortFacts[] = [];
    for (const entry of this.entries.values()) {
      const closes = entry.closesSince(now);
      if (closes === 0 || typeof entry.port !== 'number') continue;
      const { bytes, segments } = entry.medians();
      ports.push({
        port: entry.port,
        direction: entry.direction,
        closes,
        perSecond: closes / seconds,
        medianBytes: bytes,
        medianSegments: segments,
      });
    }
    ports.sort((a, b) => b.closes - a.closes || a.port - b.port);
    let closes = 0;
    for (const entry of [...this.entries.values(), this.other.inbound, this.other.outbound]) {
      closes += entry.closesSince(now);
    }
    closes += this.unknown.closesSince(now);
    return {
      windowSeconds: seconds,
      perSecond: closes / seconds,
      ports: ports.slice(0, limit),
      lost,
    };
  }
}
