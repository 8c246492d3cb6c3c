// Runs the enabled collectors for one scrape, times each, and reports
// sockdiag_scrape_collector_{duration_seconds,success}. A failing collector
// is logged and reported as 0; the scrape answers with everything else.
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { UnknownCollectorError } from '../errors';
import type {
  Collector,
  CollectorDefinition,
  CollectorServices,
  MetricFamily,
  MetricSample,
} from './collector';
import { family, mergeFamilies } from './families';
import type { OptionValues } from './options';
import { ScrapeSources, type SourceConfig } from './sources';

export interface RegistryConfig {
  enabled: ReadonlySet<string>;
  /** Every collector's resolved options, by collector name (cli/flags.ts). */
  settings: Readonly<Record<string, unknown>>;
  sources: SourceConfig;
  log: Logger;
  services?: CollectorServices;
}

export class CollectorRegistry {
  private readonly instances = new Map<string, Collector>();
  /** Enabled collectors that read the socket table. */
  private readonly tableReaders = new Set<string>();

  constructor(
    readonly definitions: readonly CollectorDefinition[],
    private readonly config: RegistryConfig,
  ) {
    for (const definition of definitions) {
      if (!config.enabled.has(definition.name)) continue;
      const options = config.settings[definition.name] as OptionValues<typeof definition.options>;
      this.instances.set(definition.name, definition.create(options, config.services ?? {}));
      if (definition.readsTable) this.tableReaders.add(definition.name);
    }
  }

  get enabled(): string[] {
    return [...this.instances.keys()];
  }

  /** The collectors one scrape runs: all enabled ones, or the `collect[]` subset. */
  select(filter?: readonly string[]): string[] {
    if (!filter || filter.length === 0) return this.enabled;
    for (const name of filter) {
      if (!this.instances.has(name)) {
        throw new UnknownCollectorError(
          `unknown or disabled collector ${JSON.stringify(name)} in collect[]; enabled: ${this.enabled.join(', ')}`,
        );
      }
    }
    return [...new Set(filter)];
  }

  /** Sources for one scrape of `names`. */
  sourcesFor(names: readonly string[]): ScrapeSources {
    return new ScrapeSources(
      this.config.sources,
      names.some((name) => this.tableReaders.has(name)),
    );
  }

  async collect(names: readonly string[]): Promise<MetricFamily[]> {
    const context = {
      log: this.config.log,
      sources: this.sourcesFor(names),
      now: Date.now(),
    };
    const durations: MetricSample[] = [];
    const successes: MetricSample[] = [];
    const results = await Promise.all(
      names.map(async (name) => {
        const started = performance.now();
        let families: MetricFamily[] = [];
        let success = 1;
        try {
          families = await this.instances.get(name)!.collect(context);
        } catch (error) {
          success = 0;
          this.config.log.error({ collector: name, err: error }, 'collector failed');
        }
        durations.push({
          labels: { collector: name },
          value: (performance.now() - started) / 1000,
        });
        successes.push({ labels: { collector: name }, value: success });
        return families;
      }),
    );
    const byName = (a: MetricSample, b: MetricSample) =>
      String(a.labels?.collector).localeCompare(String(b.labels?.collector));
    return mergeFamilies([
      ...results.flat(),
      family(
        'sockdiag_scrape_collector_duration_seconds',
        'sockdiag-exporter: duration of a collector scrape.',
        'gauge',
        durations.sort(byName),
      ),
      family(
        'sockdiag_scrape_collector_success',
        'sockdiag-exporter: whether a collector succeeded (1) or failed (0).',
        'gauge',
        successes.sort(byName),
      ),
    ]);
  }
}
