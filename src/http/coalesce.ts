// Scrape coalescing: concurrent scrapes of the same collectors share one
// in-flight collection, and with --scrape.min-interval a recent result is
// reused instead of dumping the table again.
import type { MetricFamily } from '../collectors/collector';
import type { CollectorRegistry } from '../collectors/registry';

interface Entry {
  promise: Promise<MetricFamily[]>;
  finishedAt?: number;
}

export class ScrapeCoordinator {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly registry: CollectorRegistry,
    private readonly minIntervalMs = 0,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Collects `names` (already validated), sharing work with concurrent callers. */
  collect(names: readonly string[]): Promise<MetricFamily[]> {
    const key = [...names].sort().join(',');
    const entry = this.entries.get(key);
    if (entry) {
      const fresh =
        entry.finishedAt === undefined || this.clock() - entry.finishedAt < this.minIntervalMs;
      if (fresh) return entry.promise;
    }
    const next: Entry = { promise: this.registry.collect(names) };
    this.entries.set(key, next);
    next.promise.then(
      () => {
        next.finishedAt = this.clock();
        if (this.minIntervalMs === 0 && this.entries.get(key) === next) this.entries.delete(key);
      },
      () => {
        if (this.entries.get(key) === next) this.entries.delete(key);
      },
    );
    return next.promise;
  }
}
