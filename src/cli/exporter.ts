// Builds the exporter's long-lived parts from the parsed flags: the
// incident service and the collector registry wired to it. The server and
// the doctor command both start from here.
import type { Logger } from 'pino';
import { COLLECTORS, type Settings, sourceConfig } from '../collectors';
import { gatherInput } from '../collectors/incidents';
import { CollectorRegistry } from '../collectors/registry';
import { IncidentService } from '../incidents/service';
import { type Config, parseListenAddress } from './flags';

export interface Exporter {
  registry: CollectorRegistry;
  incidents: IncidentService;
}

export function createExporter(
  config: Config<Settings>,
  log: Logger,
  enabled: ReadonlySet<string> = config.enabled,
): Exporter {
  const sources = sourceConfig(config.settings, enabled, config.procfs);
  let registry: CollectorRegistry | undefined;
  const incidents = new IncidentService({
    thresholds: config.settings.incidents,
    ownPorts: [parseListenAddress(config.listenAddress).port],
    // The service's own samples read only the cheap sources: counters,
    // sysctls, the LISTEN-only dump; never the whole table.
    sample: () => gatherInput(registry!.sourcesFor([]), Date.now(), log, false),
  });
  registry = new CollectorRegistry(COLLECTORS, {
    enabled,
    settings: config.settings,
    sources,
    log,
    services: { incidents },
  });
  return { registry, incidents };
}
