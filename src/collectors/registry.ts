// Runs the enabled collectors for one scrape, times each, and reports
// sockdiag_scrape_collector_{duration_seconds,success}. A failing collector
// is logged and reported as 0; the scrape answers with everything else.
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type {
  CollectorDefinition,
  CollectorInstance,
  MetricFamily,
  MetricSample,
  ScrapeContext,
} from './collector';

export interface RegistryConfig {
  enabled: ReadonlySet<string>;
  /** Resolved options, keyed `<collector>.<option>`. */
  settings: Readonly<Record<string, unknown>>;
  procfs: string;
  log: Logger;
}

export class UnknownCollectorError extends Error {
  readonly code = 'ERR_UNKNOWN_COLLECTOR';
}

export class CollectorRegistry {
  private readonly instances = new Map<string, CollectorInstance>();

  constructor(
    readonly definitions: readonly CollectorDefinition[],
    private readonly config: RegistryConfig,
  ) {
    for (const definition of definitions) {
      if (!config.enabled.has(definition.name)) continue;
      const options: Record<string, unknown> = {};
      for (const option of definition.options) {
        options[option.name] =
          config.settings[`${definition.name}.${option.name}`] ?? option.default;
      }
      this.instances.set(definition.name, definition.create(options));
    }
  }

  /** The live instance of an enabled collector (e.g. incidents, for /doctor). */
  instance(name: string): CollectorInstance | undefined {
    return this.instances.get(name);
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

  async collect(names: readonly string[]): Promise<MetricFamily[]> {
    const context: ScrapeContext = {
      procfs: this.config.procfs,
      log: this.config.log,
      shared: new Map(),
      now: Date.now(),
      enabled: new Set(names),
      configured: new Set(this.instances.keys()),
      settings: this.config.settings,
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
    return [
      ...results.flat(),
      {
        name: 'sockdiag_scrape_collector_duration_seconds',
        help: 'sockdiag-exporter: duration of a collector scrape.',
        type: 'gauge',
        values: durations.sort(byName),
      },
      {
        name: 'sockdiag_scrape_collector_success',
        help: 'sockdiag-exporter: whether a collector succeeded (1) or failed (0).',
        type: 'gauge',
        values: successes.sort(byName),
      },
    ];
  }
}
