// Builds the exporter's long-lived parts from the parsed flags: the
// incident service and the collector registry wired to it. The server and
// the doctor command both start from here.
import type { Logger } from 'pino';
import { COLLECTORS, type Settings, sourceConfig } from '../collectors';
import { CollectorRegistry } from '../collectors/registry';
import { IncidentService } from '../incidents/service';
import type { Config } from './flags';

export interface Exporter {
  registry: CollectorRegistry;
  incidents: IncidentService;
}

export function createExporter(
  config: Config<Settings>,
  log: Logger,
  enabled: ReadonlySet<string> = config.enabled,
): Exporter {
  const incidents = new IncidentService(config.settings.incidents);
  const registry = new CollectorRegistry(COLLECTORS, {
    enabled,
    settings: config.settings,
    sources: sourceConfig(config.settings, enabled, config.procfs),
    log,
    services: { incidents },
  });
  return { registry, incidents };
}
