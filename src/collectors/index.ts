// Every collector, in the order their metrics appear. The registry and the
// --collector.NAME flags derive from this list, and so does the typed
// Settings object that holds every collector's resolved options.
import { resolveParallelism } from '../scan/scan';
import { closedCollector } from './closed';
import type { SettingsOf } from './collector';
import { incidentsCollector } from './incidents';
import { listenersCollector } from './listeners';
import { netnsCollector } from './netns';
import { netstatCollector } from './netstat';
import { peersCollector } from './peers';
import { socketsCollector } from './sockets';
import { sockstatCollector } from './sockstat';
import type { SourceConfig } from './sources';
import { sysctlCollector } from './sysctl';

export const COLLECTORS = [
  socketsCollector,
  listenersCollector,
  netstatCollector,
  sockstatCollector,
  sysctlCollector,
  peersCollector,
  incidentsCollector,
  closedCollector,
  netnsCollector,
] as const;

export type Settings = SettingsOf<typeof COLLECTORS>;

/**
 * What the scrape sources need from the collectors' options: one table
 * scan serves the sockets, peers and incidents collectors alike.
 */
export function sourceConfig(
  settings: Settings,
  enabled: ReadonlySet<string>,
  procfs: string,
): SourceConfig {
  return {
    procfs,
    scan: {
      // Peer addresses are only ever counted when the operator asked for them.
      trackPeers: enabled.has(peersCollector.name),
      peersLimit: settings.peers.limit,
      tcpInfo: settings.sockets.tcpInfo,
      ghostIdleSeconds: settings.incidents.keepaliveIdle,
      ...resolveParallelism(settings.sockets.parallelDumps),
      trackCgroups: settings.sockets.cgroupsLimit > 0,
    },
  };
}
