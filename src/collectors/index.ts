// Every collector, in the order their metrics appear. The registry and the
// --collector.NAME flags derive from this list.
import type { CollectorDefinition } from './collector';
import { incidentsCollector } from './incidents';
import { listenersCollector } from './listeners';
import { netstatCollector } from './netstat';
import { peersCollector } from './peers';
import { socketsCollector } from './sockets';
import { sockstatCollector } from './sockstat';
import { sysctlCollector } from './sysctl';

export const COLLECTORS: readonly CollectorDefinition[] = [
  socketsCollector,
  listenersCollector,
  netstatCollector,
  sockstatCollector,
  sysctlCollector,
  peersCollector,
  incidentsCollector,
];
