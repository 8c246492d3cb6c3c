// What a collector is. One file per collector under src/collectors/, all
// listed in src/collectors/index.ts; the registry derives the
// --collector.NAME / --no-collector.NAME flags and per-collector options
// from these definitions.
import type { Logger } from 'pino';

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'untyped';

export interface MetricSample {
  value: number;
  labels?: Record<string, string | number>;
  /** For histogram parts: `${name}_bucket`, `${name}_sum`, `${name}_count`. */
  metricName?: string;
}

/** One metric family, in the shape prom-client renders (`MetricObjectWithValues`). */
export interface MetricFamily {
  name: string;
  help: string;
  type: MetricType;
  values: MetricSample[];
}

/** A collector-specific flag: `--collector.<collector>.<name>=VALUE`. */
export interface CollectorOption {
  name: string;
  help: string;
  type: 'number' | 'string' | 'boolean' | 'list';
  default: number | string | boolean | string[];
}

export interface ScrapeContext {
  /** Mount point of procfs, `--path.procfs` (default /proc). */
  procfs: string;
  log: Logger;
  /**
   * Data shared within one scrape: src/sources.ts memoises each source (the
   * socket table, listeners, netstat, sysctls) here as a promise, so
   * collectors never read one twice and need no ordering between them.
   */
  shared: Map<string, unknown>;
  /** Milliseconds since the epoch when this scrape started. */
  now: number;
  /** Collectors this scrape runs (all enabled ones, or the collect[] subset). */
  enabled: ReadonlySet<string>;
  /**
   * Collectors enabled by flags, whether or not this scrape runs them: the
   * privacy choice (peers) holds for /doctor's incidents-only scrapes too.
   */
  configured: ReadonlySet<string>;
  /** Every collector's resolved options, keyed `<collector>.<option>`. */
  settings: Readonly<Record<string, unknown>>;
}

export interface CollectorInstance {
  collect(context: ScrapeContext): Promise<MetricFamily[]>;
}

export interface CollectorDefinition {
  /** Lower case, [a-z_]: the flag is --collector.<name>. */
  name: string;
  /** One line for --help. */
  help: string;
  defaultEnabled: boolean;
  options: CollectorOption[];
  /** Builds the collector with its options resolved (defaults applied). */
  create(options: Record<string, unknown>): CollectorInstance;
}

/** Helper for counters/gauges without labels. */
export function single(name: string, help: string, type: MetricType, value: number): MetricFamily {
  return { name, help, type, values: [{ value }] };
}
