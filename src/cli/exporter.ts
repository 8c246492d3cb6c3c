// Builds the exporter's long-lived parts from the parsed flags: the
// incident service and the collector registry wired to it. The server and
// the doctor command both start from here.
import { release } from 'node:os';
import type { Logger } from 'pino';
import { COLLECTORS, type Settings, sourceConfig } from '../collectors';
import { gatherInput } from '../collectors/incidents';
import { compiled } from '../collectors/options';
import { CollectorRegistry } from '../collectors/registry';
import type { SourceConfig } from '../collectors/sources';
import { IncidentService } from '../incidents/service';
import { NetnsService } from '../netns/service';
import { NamespaceSet } from '../netns/set';
import { Owners } from '../owners';
import { type Config, parseListenAddress } from './flags';

export interface Exporter {
  registry: CollectorRegistry;
  incidents: IncidentService;
  owners: Owners;
  /** The other namespaces, with the netns collector on. */
  netns?: NetnsService;
  /** Stops sampling and lets every namespace go. */
  close(): void;
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
  const netns = enabled.has('netns')
    ? namespaceService(config, sources, owners, enabled, log)
    : undefined;
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
    services: { incidents, ...(netns ? { netns } : {}) },
  });
  return {
    registry,
    incidents,
    owners,
    ...(netns ? { netns } : {}),
    close() {
      incidents.stop();
      netns?.close();
    },
  };
}

function namespaceService(
  config: Config<Settings>,
  sources: SourceConfig,
  owners: Owners,
  enabled: ReadonlySet<string>,
  log: Logger,
): NetnsService {
  const options = config.settings.netns;
  const set = new NamespaceSet({
    procfs: config.procfs,
    include: compiled(options.include),
    exclude: compiled(options.exclude),
    limit: options.limit,
    full: compiled(options.full),
    log,
  });
  return new NetnsService({
    set,
    definitions: COLLECTORS,
    settings: config.settings,
    sources,
    thresholds: config.settings.incidents,
    owners,
    allCounters: options.allCounters,
    peers: enabled.has('peers'),
    log,
  });
}
