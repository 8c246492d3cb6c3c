// What the incident checks see and say. Pure data: the engine gathers it
// from the scrape's sources, tests can build it by hand.
import type { Listener } from '../scan/listeners';

export interface TableFacts {
  established: number;
  timeWait: number;
  /** ESTABLISHED sockets, no keepalive timer, idle longer than the threshold. */
  idleWithoutKeepalive: number;
  /** Same, with the local:port -> remote:port of a few of them (peers only). */
  ghostExamples: string[];
  tcpInfoAvailable: boolean;
  socketsWithDrops: number;
  drops: number;
  /** Ports toward the busiest (local, remote, remote port) tuple. */
  busiestTuplePorts: number;
  ephemeralRangeSize: number;
  /** TIME_WAIT sockets per service port, busiest first (at most 5). */
  timeWaitByServicePort: [number, number][];
}

export interface IncidentInput {
  /** Milliseconds since the epoch. */
  now: number;
  /** "TcpExt.ListenOverflows" -> value; null when unreadable. */
  netstat: Map<string, number> | null;
  /** "net.ipv4.tcp_max_tw_buckets" -> value. */
  sysctl: Map<string, number> | null;
  listeners: Listener[] | null;
  table: TableFacts | null;
}

export interface Evidence {
  name: string;
  value: number;
  /** Shown in the report: "per second", "sockets", "ratio"... */
  unit: string;
}

export interface Finding {
  incident: string;
  title: string;
  /** false: not enough data yet (first sample for a rate, a source missing). */
  evaluated: boolean;
  fired: boolean;
  /** Why it has no opinion, when not evaluated. */
  reason?: string;
  evidence: Evidence[];
  /** Human lines naming what triggered it (listeners, settings). */
  details: string[];
  remedy: string;
  /** Lower acts first. */
  priority: number;
}

export type { Thresholds } from './thresholds';
