// What the incident checks see and say. Pure data: the service gathers it
// from the scrape's sources and its own counter samples; tests build it by
// hand.
import type { ClosedFacts } from '../closed/facts';
import type { DropPort, GhostPort, HalfOpenSources, TimeWaitPort } from '../scan/facts';
import type { Listener } from '../scan/listeners';

export type { ClosedFacts, ClosedPortFacts } from '../closed/facts';
export type { DropPort, GhostPort, HalfOpenSources, PeerSpan, TimeWaitPort } from '../scan/facts';

export type { Thresholds } from './thresholds';

export interface TableFacts {
  established: number;
  timeWait: number;
  /** ESTABLISHED sockets, no keepalive timer, idle longer than the threshold. */
  idleWithoutKeepalive: number;
  /** Those per port, most first. */
  ghostPorts: GhostPort[];
  /** Their idle times: [upper bound in seconds, sockets] for each bucket above the threshold. */
  ghostIdle: [number, number][];
  /** A few of them as "local:port -> remote:port", only when peers may be revealed. */
  ghostExamples: string[];
  /** Possible ghosts per cgroup id, as the scan counted them. */
  ghostCgroupIds?: [number, number][];
  /** The owners holding most of them (cgroup, unit or pod), most first. */
  ghostOwners?: { owner: string; sockets: number }[];
  tcpInfoAvailable: boolean;
  /** Live non-listening sockets with drops, and their drops. */
  socketsWithDrops: number;
  drops: number;
  dropPorts: DropPort[];
  /** Ports toward the busiest (local, remote, remote port) tuple. */
  busiestTuplePorts: number;
  ephemeralRangeSize: number;
  /** TIME_WAIT per service port, busiest first. */
  timeWaitPorts: TimeWaitPort[];
  halfOpen: HalfOpenSources[];
}

/** One reading of the counters, on the service's own schedule or by a scrape. */
export interface CounterSample {
  /** Milliseconds since the epoch. */
  at: number;
  /** "TcpExt.ListenOverflows" -> value; null when unreadable. */
  netstat: Map<string, number> | null;
  /** Listener drop counters by endpoint key; null when the listener dump failed. */
  listenerDrops: Map<string, number> | null;
  /** Connections the exporter itself had accepted by then (a running count). */
  ownConnections?: number;
}

export interface IncidentInput {
  /** Milliseconds since the epoch. */
  now: number;
  /** "TcpExt.ListenOverflows" -> value; null when unreadable. */
  netstat: Map<string, number> | null;
  /** Why the counters are null, for "no opinion". */
  netstatError?: string;
  /** "net.ipv4.tcp_max_tw_buckets" -> value; null when none could be read. */
  sysctl: Map<string, number> | null;
  listeners: Listener[] | null;
  table: TableFacts | null;
  /** Why the table is null (a failed dump, the sockets collector off). */
  tableError?: string;
  /** Ports the exporter itself listens on: its own scrapes are not churn. */
  ownPorts?: number[];
  /** Connections the exporter accepted itself since `baseline` (its scrapes). */
  ownConnections?: number;
  /** What the connections closed lately carried (the closed collector); absent when it is off. */
  closed?: ClosedFacts | null;
}

/** The counters at the start of the rate window, from the service's samples. */
export interface Baseline {
  sample: CounterSample | null;
  /** Why there is none: too soon after start, or no readable sample in the window. */
  missing?: string;
}

export type Severity = 'critical' | 'warning' | 'info';

export interface Evidence {
  name: string;
  value: number;
  /** Shown in the report: "per second", "sockets", "ratio"... */
  unit: string;
}

export interface Finding {
  incident: string;
  title: string;
  severity: Severity;
  /** false: no opinion (inputs missing, too soon for a rate); `reason` says why. */
  evaluated: boolean;
  fired: boolean;
  /** Seen but harmless on its own (connection churn without harm): reported, not fired. */
  notice: boolean;
  reason?: string;
  /** What the kernel counted or the table showed that made the finding, in words. */
  cause?: string;
  evidence: Evidence[];
  /** Human lines naming what triggered it (listeners, ports, owners, settings). */
  details: string[];
  remedy: string;
  /** Lower acts first. */
  priority: number;
}

/** A finding that fired recently, kept for /doctor. */
export interface RecentFinding {
  incident: string;
  title: string;
  severity: Severity;
  firstAt: number;
  lastAt: number;
  /** How many evaluations saw it fire. */
  times: number;
  cause?: string;
  details: string[];
  /** The evidence of the evaluation where its main number was highest. */
  peak: Evidence[];
}
