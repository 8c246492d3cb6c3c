// Running collectors directly in tests: a ScrapeContext over a procfs tree,
// and collectors built with their declared defaults.
import pino from 'pino';
import type {
  Collector,
  CollectorDefinition,
  CollectorServices,
  ScrapeContext,
} from '../../src/collectors/collector';
import { defaults, type OptionSpecs, type OptionValues } from '../../src/collectors/options';
import { CollectorRegistry } from '../../src/collectors/registry';
import { ScrapeSources, type SourceConfig } from '../../src/collectors/sources';
import { DEFAULT_THRESHOLDS } from '../../src/incidents/thresholds';

/** Sources over `procfs` with the scan at its defaults, peers not tracked. */
export function sourceConfig(procfs = '/proc'): SourceConfig {
  const scan = {
    trackPeers: false,
    peersLimit: 10,
    tcpInfo: true,
    ghostIdleSeconds: DEFAULT_THRESHOLDS.keepaliveIdle,
    parallelism: 1,
  };
  return { procfs, scan };
}

export function scrapeContext(procfs: string): ScrapeContext {
  return {
    log: pino({ level: 'silent' }),
    sources: new ScrapeSources(sourceConfig(procfs), false),
    now: Date.now(),
  };
}

/** A registry of `definitions`, all enabled, each at its default options. */
export function testRegistry(definitions: readonly CollectorDefinition[]): CollectorRegistry {
  const settings = Object.fromEntries(definitions.map((d) => [d.name, defaults(d.options)]));
  return new CollectorRegistry(definitions, {
    enabled: new Set(definitions.map((d) => d.name)),
    settings,
    sources: sourceConfig(),
    log: pino({ level: 'silent' }),
  });
}

/** The collector with its default options, `overrides` applied. */
export function createCollector<S extends OptionSpecs>(
  definition: CollectorDefinition<string, S>,
  overrides: Partial<OptionValues<S>> = {},
  services: CollectorServices = {},
): Collector {
  return definition.create({ ...defaults(definition.options), ...overrides }, services);
}
