// Builds the exporter's long-lived parts from the parsed flags: the
// incident service and the collector registry wired to it, and with the
// closed collector, the destroy-event subscribers (ours, and one per other
// namespace up to its limit). The server and the doctor command both start
// from here; close() lets every long-lived part go.
import { release } from 'node:os';
import type { Logger } from 'pino';
import { ClosedTracker } from '../closed/tracker';
import { COLLECTORS, type Settings, sourceConfig } from '../collectors';
import { gatherInput } from '../collectors/incidents';
import { compiled } from '../collectors/options';
import { CollectorRegistry } from '../collectors/registry';
import { procfsReader, type SourceConfig } from '../collectors/sources';
import type { NamespaceHandle } from '../diag';
import { IncidentService } from '../incidents/service';
import { type NamespaceEntry, netnsLabel } from '../netns/discovery';
import { namespaceReader } from '../netns/reader';
import { NetnsService } from '../netns/service';
import { type ClosedSubscriptions, NamespaceSet } from '../netns/set';
import { Owners } from '../owners';
import { dumpListeners } from '../scan/listeners';
import { type Config, parseListenAddress } from './flags';

export interface Exporter {
  registry: CollectorRegistry;
  incidents: IncidentService;
  owners: Owners;
  /** The other namespaces, with the netns collector on. */
  netns?: NetnsService;
  /** Our namespace's closed connections, with the closed collector on. */
  closed?: ClosedTracker;
  /** Stops sampling, unsubscribes and lets every namespace go. */
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
  const closed = enabled.has('closed') ? ownClosedTracker(config, log) : undefined;
  const sources: SourceConfig = {
    ...sourceConfig(config.settings, enabled, config.procfs),
    owners,
    ...(closed ? { closed } : {}),
  };
  // A failure is logged and retried by the tracker, and reported by the collector.
  closed?.start().catch(() => {});
  const netns = enabled.has('netns')
    ? namespaceService(config, sources, owners, enabled, log)
    : undefined;
  let registry: CollectorRegistry | undefined;
  const incidents = new IncidentService({
    thresholds: config.settings.incidents,
    ownPorts: [parseListenAddress(config.listenAddress).port],
    notes: () => [...owners.notes(), ...(closed?.notes() ?? [])],
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
    ...(closed ? { closed } : {}),
    close() {
      incidents.stop();
      netns?.close();
      closed?.close();
    },
  };
}

type ClosedSettings = Settings['closed'];

function trackerOptions(settings: ClosedSettings, log: Logger) {
  return {
    udp: settings.udp,
    portsLimit: settings.portsLimit,
    receiveBufferBytes: settings.receiveBufferBytes,
    log,
  };
}

/** Our own namespace's subscriber: a deeper queue, since it is the busiest. */
function ownClosedTracker(config: Config<Settings>, log: Logger): ClosedTracker {
  const reader = procfsReader(config.procfs);
  return new ClosedTracker({
    ...trackerOptions(config.settings.closed, log),
    queueBatches: 32,
    listenerPorts: async () => (await dumpListeners()).map((l) => l.port),
    portRange: () => reader.portRange(),
  });
}

/** Another namespace's subscriber, entered by its path, its listeners dumped through its handle. */
function namespaceSubscriptions(config: Config<Settings>, log: Logger): ClosedSubscriptions {
  const settings = config.settings.closed;
  return {
    limit: settings.netnsLimit,
    async open(entry: NamespaceEntry, handle: NamespaceHandle) {
      const reader = namespaceReader(handle);
      const tracker = new ClosedTracker({
        ...trackerOptions(settings, log.child({ netns: netnsLabel(entry) })),
        netns: entry.path,
        listenerPorts: async () => (await dumpListeners({ namespace: handle })).map((l) => l.port),
        portRange: () => reader.portRange(),
      });
      try {
        await tracker.start();
      } catch (error) {
        tracker.close();
        throw error;
      }
      return tracker;
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
    ...(enabled.has('closed') && config.settings.closed.netnsLimit > 0
      ? { closed: namespaceSubscriptions(config, log) }
      : {}),
  });
  return new NetnsService({
    set,
    definitions: COLLECTORS,
    settings: config.settings,
    sources,
    thresholds: config.settings.incidents,
    owners,
    allCounters: options.allCounters,
    sysctlMaxAgeMs: options.sysctlInterval * 1000,
    peers: enabled.has('peers'),
    closed: enabled.has('closed'),
    log,
  });
}
