// Builds the exporter's long-lived parts from the parsed flags: the
// incident service and the collector registry wired to it. The server and
// the doctor command both start from here.
import { release } from 'node:os';
import type { Logger } from 'pino';
import { COLLECTORS, type Settings, sourceConfig } from '../collectors';
import { gatherInput } from '../collectors/incidents';
import { CollectorRegistry } from '../collectors/registry';
import { IncidentService } from '../incidents/service';
import { Owners } from '../owners';
import { type Config, parseListenAddress } from './flags';

export interface Exporter {
  registry: CollectorRegistry;
  incidents: IncidentService;
  owners: Owners;
}

export function createExporter(
  config: Config<Settings>,
  log: Logger,
  enabled: ReadonlySet<string> = config.enabled,
): Exporter {
  const owners = new Owners({
    procfs: config.procfs,
    cgroupfs: config.cgroupfs,
    processes: config.settings.listeners.processes,
    processBudgetMs: config.settings.listeners.processScanBudget * 1000,
    kernel: release(),
  });
  if (!owners.mount) {
    log.warn(
      { procfs: config.procfs },
      'no cgroup2 mount found: socket owners will have no cgroup, unit, pod or container (pass --path.cgroupfs)',
    );
  }
  const sources = { ...sourceConfig(config.settings, enabled, config.procfs), owners };
  let registry: CollectorRegistry | undefined;
  const incidents = new IncidentService({
    thresholds: config.settings.incidents,
    ownPorts: [parseListenAddress(config.listenAddress).port],
    notes: () => owners.notes(),
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
  return { registry, incidents, owners };
}
