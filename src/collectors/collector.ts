// What a collector is. One file per collector in this folder, all listed in
// index.ts; the registry runs them, and the --collector.NAME flags and
// per-collector options derive from their definitions.
import type { Logger } from 'pino';
import type { IncidentService } from '../incidents/service';
import type { OptionSpecs, OptionValues } from './options';
import type { ScrapeSources } from './sources';

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'untyped';

export interface MetricSample {
  value: number;
  labels?: Record<string, string | number>;
  /**
   * Labels many samples share (a namespace's `netns`), rendered after
   * `labels`: prom-client formats each such object once, not per sample.
   */
  sharedLabels?: Readonly<Record<string, string>>;
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

export interface ScrapeContext {
  log: Logger;
  /**
   * This scrape's data, read at most once whoever asks first (the socket
   * table, listeners, counters, sysctls): collectors need no ordering.
   */
  sources: ScrapeSources;
  /** Milliseconds since the epoch when this scrape started. */
  now: number;
}

export interface Collector {
  collect(context: ScrapeContext): Promise<MetricFamily[]>;
}

/** What the netns collector asks of the namespace service (netns/service.ts). */
export interface NamespaceCollection {
  /** Every other namespace's families, each series with its `netns` label. */
  collect(): Promise<MetricFamily[]>;
}

/** Long-lived services a collector may use, created once by the command line. */
export interface CollectorServices {
  incidents?: IncidentService;
  netns?: NamespaceCollection;
}

export interface CollectorDefinition<
  Name extends string = string,
  Specs extends OptionSpecs = OptionSpecs,
> {
  /** Lower case, [a-z_]: the flag is --collector.<name>. */
  name: Name;
  /** One line for --help. */
  help: string;
  defaultEnabled: boolean;
  /**
   * Reads the whole socket table. When a scrape runs one of these, the
   * table is read anyway, and listeners also get their half-open counts.
   */
  readsTable?: boolean;
  options: Specs;
  /** Builds the collector with its options resolved (defaults applied). */
  create(options: OptionValues<Specs>, services: CollectorServices): Collector;
}

/** Keeps a definition's literal name and option types for the typed settings. */
export function defineCollector<const Name extends string, const Specs extends OptionSpecs>(
  definition: CollectorDefinition<Name, Specs>,
): CollectorDefinition<Name, Specs> {
  return definition;
}

/** Resolved options of every collector, enabled or not, by collector name. */
export type SettingsOf<Definitions extends readonly CollectorDefinition[]> = {
  readonly [D in Definitions[number] as D['name']]: OptionValues<D['options']>;
};

/** A collector with no options that reads its inputs and returns families. */
export function simpleCollector<const Name extends string>(definition: {
  name: Name;
  help: string;
  collect(context: ScrapeContext): Promise<MetricFamily[]>;
}): CollectorDefinition<Name, Record<never, never>> {
  const { name, help, collect } = definition;
  return { name, help, defaultEnabled: true, options: {}, create: () => ({ collect }) };
}
