// Scrape coalescing: concurrent scrapes of the same collectors share one
// in-flight collection, and with --scrape.min-interval a recent result is
// reused instead of dumping the table again. The rendered body is shared
// too: one per collection, format and content coding, kept as a Buffer so
// that every response writes the same bytes without a copy. 256 concurrent
// gzip scrapes used to render and compress 256 copies (272 MB at peak);
// now they hold one.
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { MetricFamily } from '../collectors/collector';
import type { CollectorRegistry } from '../collectors/registry';

const gzipAsync = promisify(gzip);

export type ContentCoding = 'identity' | 'gzip';

/** Renders a collection's families in one format (the process metrics added by the caller). */
export type BodyRenderer = (families: MetricFamily[], contentType: string) => Promise<string>;

interface Entry {
  families: Promise<MetricFamily[]>;
  finishedAt?: number;
  /** `${contentType}\0${coding}` -> body. */
  bodies: Map<string, Promise<Buffer>>;
}

export class ScrapeCoordinator {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly registry: CollectorRegistry,
    private readonly minIntervalMs = 0,
    private readonly renderer?: BodyRenderer,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Collects `names` (already validated), sharing work with concurrent callers. */
  collect(names: readonly string[]): Promise<MetricFamily[]> {
    return this.entry(names).families;
  }

  /**
   * The rendered body of a collection of `names`: the one concurrent
   * callers asking for the same format and coding get as well.
   */
  body(names: readonly string[], contentType: string, coding: ContentCoding): Promise<Buffer> {
    const renderer = this.renderer;
    if (!renderer) throw new Error('ScrapeCoordinator: no renderer given');
    const entry = this.entry(names);
    const plain = this.shared(entry, contentType, 'identity', async () =>
      Buffer.from(await renderer(await entry.families, contentType), 'utf8'),
    );
    if (coding === 'identity') return plain;
    return this.shared(entry, contentType, coding, async () => gzipAsync(await plain));
  }

  private shared(
    entry: Entry,
    contentType: string,
    coding: ContentCoding,
    make: () => Promise<Buffer>,
  ): Promise<Buffer> {
    const key = `${contentType}\0${coding}`;
    let body = entry.bodies.get(key);
    if (!body) {
      body = make();
      entry.bodies.set(key, body);
    }
    return body;
  }

  private entry(names: readonly string[]): Entry {
    const key = [...names].sort().join(',');
    const entry = this.entries.get(key);
    if (entry) {
      const fresh =
        entry.finishedAt === undefined || this.clock() - entry.finishedAt < this.minIntervalMs;
      if (fresh) return entry;
    }
    const next: Entry = { families: this.registry.collect(names), bodies: new Map() };
    this.entries.set(key, next);
    next.families.then(
      () => {
        next.finishedAt = this.clock();
        if (this.minIntervalMs === 0 && this.entries.get(key) === next) this.entries.delete(key);
      },
      () => {
        if (this.entries.get(key) === next) this.entries.delete(key);
      },
    );
    return next;
  }
}
