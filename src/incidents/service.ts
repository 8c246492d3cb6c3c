// The incident engine as a service, created once by the command line and
// handed to the incidents collector, the HTTP server (/doctor) and the
// doctor command. It samples the counters on its own schedule (a short
// ring), so that every consumer computes rates over the same window and
// none takes the counter rises away from another; it also evaluates the
// counter checks on each sample, so a burst between two scrapes is still
// listed as recently fired.
import { keyOf } from '../scan/endpoint';
import { IncidentEngine } from './engine';
import { RecentFindings } from './recent';
import { CounterRing } from './ring';
import type { Thresholds } from './thresholds';
import type { CounterSample, Finding, IncidentInput, RecentFinding } from './types';

export interface IncidentServiceOptions {
  thresholds: Thresholds;
  /** Reads the cheap inputs (counters, sysctls, listeners; no table) for a sample. */
  sample?: () => Promise<IncidentInput>;
  /** Milliseconds since the epoch; tests move it. */
  clock?: () => number;
  /** Ports the exporter listens on: connections to them are its own scrapes. */
  ownPorts?: number[];
  /** Why parts of the findings may be missing (owner labels...), for the report. */
  notes?: () => string[];
  /**
   * With no sampler of its own: each evaluation's counters also go into
   * the ring, so the next evaluation's rates start there (a namespace's
   * service, fed by the scrapes).
   */
  recordEvaluations?: boolean;
}

export function counterSample(input: IncidentInput, ownConnections: number): CounterSample {
  return {
    at: input.now,
    netstat: input.netstat,
    listenerDrops: input.listeners
      ? new Map(input.listeners.map((l) => [keyOf(l), l.drops]))
      : null,
    ownConnections,
  };
}

export class IncidentService {
  private readonly engine: IncidentEngine;
  private readonly ring: CounterRing;
  private readonly recentFindings: RecentFindings;
  private readonly clock: () => number;
  private newest: Finding[] | null = null;
  private timer: NodeJS.Timeout | null = null;
  private sampling: Promise<void> | null = null;
  /** Connections the exporter's own server accepted (its scrapes): not churn. */
  private ownConnections = 0;

  constructor(private readonly options: IncidentServiceOptions) {
    const { thresholds } = options;
    const intervalMs = thresholds.sampleInterval * 1000;
    this.engine = new IncidentEngine(thresholds, intervalMs);
    this.ring = new CounterRing(Math.max(thresholds.window * 1000, intervalMs), intervalMs * 0.9);
    this.recentFindings = new RecentFindings(thresholds.remember * 1000);
    this.clock = options.clock ?? Date.now;
  }

  get thresholds(): Thresholds {
    return this.options.thresholds;
  }

  /** Takes a sample now and then every sample interval, until stop(). */
  start(): Promise<void> {
    if (this.timer || !this.options.sample) return Promise.resolve();
    this.timer = setInterval(() => void this.sampleNow(), this.thresholds.sampleInterval * 1000);
    this.timer.unref();
    return this.sampleNow();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** One sample: into the ring, and through the counter checks for the recent list. */
  sampleNow(): Promise<void> {
    const sample = this.options.sample;
    if (!sample) return Promise.resolve();
    // A slow read (a loaded host) must not stack samples up.
    this.sampling ??= (async () => {
      try {
        const input = await sample();
        const baseline = this.ring.baseline(input.now);
        this.ring.push(counterSample(input, this.ownConnections));
        const findings = this.engine.evaluate(this.withOwn(input, baseline.sample), baseline);
        this.recentFindings.record(findings, input.now);
      } finally {
        this.sampling = null;
      }
    })();
    return this.sampling;
  }

  noteOwnConnection(): void {
    this.ownConnections++;
  }

  private withOwn(input: IncidentInput, base: CounterSample | null): IncidentInput {
    const since = base?.ownConnections ?? this.ownConnections;
    return {
      ...input,
      ownConnections: this.ownConnections - since,
      ownPorts: this.options.ownPorts ?? [],
    };
  }

  /** Evaluates every check on a fresh input (a scrape's or /doctor's), rates over the ring's window. */
  evaluate(input: IncidentInput): Finding[] {
    const baseline = this.ring.baseline(input.now);
    this.newest = this.engine.evaluate(this.withOwn(input, baseline.sample), baseline);
    this.recentFindings.record(this.newest, input.now);
    if (this.options.recordEvaluations && input.netstat) {
      this.ring.push(counterSample(input, this.ownConnections));
    }
    return this.newest;
  }

  /** The findings of the newest evaluation; null before the first. */
  get latest(): Finding[] | null {
    return this.newest;
  }

  /** Caveats for the report: why owner labels may be empty, and the like. */
  notes(): string[] {
    return this.options.notes?.() ?? [];
  }

  /** What fired in the remembered span (default 15 minutes). */
  recent(): RecentFinding[] {
    return this.recentFindings.list(this.clock());
  }
}
