// Hand-built inputs for the incident engine: counters, sysctls, listeners
// and table facts, and a runner that gives each sample the one before as the
// start of its rate window (what the service's ring does on its schedule).
import { IncidentEngine } from '../../src/incidents/engine';
import { counterSample } from '../../src/incidents/service';
import { DEFAULT_THRESHOLDS } from '../../src/incidents/thresholds';
import type {
  ClosedFacts,
  CounterSample,
  Finding,
  IncidentInput,
  TableFacts,
  Thresholds,
  TimeWaitPort,
} from '../../src/incidents/types';
import type { Listener } from '../../src/scan/listeners';

export const COUNTERS = [
  'TcpExt.ListenOverflows',
  'TcpExt.ListenDrops',
  'TcpExt.TCPReqQFullDrop',
  'TcpExt.TCPReqQFullDoCookies',
  'TcpExt.TCPTimeWaitOverflow',
  'TcpExt.SyncookiesSent',
  'TcpExt.SyncookiesRecv',
  'TcpExt.SyncookiesFailed',
  'TcpExt.PAWSActive',
  'TcpExt.PAWSEstab',
  'TcpExt.PAWSTimewait',
  'TcpExt.TCPACKSkippedPAWS',
  'TcpExt.TCPRcvCollapsed',
  'TcpExt.PruneCalled',
  'TcpExt.RcvPruned',
  'TcpExt.OfoPruned',
  'TcpExt.TCPRcvQDrop',
  'TcpExt.TCPAbortOnTimeout',
  'TcpExt.TCPAbortOnData',
  'TcpExt.TCPAbortOnClose',
  'TcpExt.TCPAbortOnMemory',
  'TcpExt.TCPAbortOnLinger',
  'Tcp.ActiveOpens',
  'Tcp.PassiveOpens',
  'Tcp.OutRsts',
  'Tcp.EstabResets',
  'Tcp.AttemptFails',
  'Tcp.CurrEstab',
];

export const SYSCTLS: Record<string, number> = {
  'net.core.somaxconn': 4096,
  'net.ipv4.tcp_max_syn_backlog': 2048,
  'net.ipv4.tcp_syncookies': 1,
  'net.ipv4.tcp_max_tw_buckets': 1000,
  'net.ipv4.tcp_timestamps': 1,
  'net.ipv4.tcp_tw_reuse': 2,
  'net.ipv4.tcp_keepalive_time': 7200,
};

export function quietTable(over: Partial<TableFacts> = {}): TableFacts {
  return {
    established: 10,
    timeWait: 0,
    idleWithoutKeepalive: 0,
    ghostPorts: [],
    ghostIdle: [],
    ghostExamples: [],
    tcpInfoAvailable: true,
    socketsWithDrops: 0,
    drops: 0,
    dropPorts: [],
    busiestTuplePorts: 1,
    ephemeralRangeSize: 28232,
    timeWaitPorts: [],
    halfOpen: [],
    ...over,
  };
}

export function listener(over: Partial<Listener> = {}): Listener {
  return {
    family: 'inet',
    address: '127.0.0.1',
    port: 8080,
    sockets: 1,
    acceptQueue: 0,
    acceptQueueLimit: 128,
    drops: 0,
    halfOpen: 0,
    inode: 1000,
    cgroupId: 0,
    ...over,
  };
}

/** Server-side TIME_WAIT on a service port from one peer pool. */
export function timeWaitPort(over: Partial<TimeWaitPort> = {}): TimeWaitPort {
  return {
    port: 8080,
    serverSide: 0,
    clientSide: 0,
    peers: 0,
    topPeer: null,
    withTimestamps: 0,
    withoutTimestamps: 0,
    ...over,
  };
}

export interface Sample {
  /** Seconds since the start. */
  at?: number;
  counters?: Record<string, number>;
  sysctl?: Record<string, number>;
  listeners?: Listener[] | null;
  table?: TableFacts | null;
  netstat?: null;
  ownConnections?: number;
  /** What closed connections carried (the closed collector). */
  closed?: ClosedFacts;
}

export const T0 = 1_700_000_000_000;

export function input(sample: Sample = {}): IncidentInput {
  const netstat = new Map(COUNTERS.map((key) => [key, 0]));
  for (const [key, value] of Object.entries(sample.counters ?? {})) netstat.set(key, value);
  const built: IncidentInput = {
    now: T0 + (sample.at ?? 0) * 1000,
    netstat: sample.netstat === null ? null : netstat,
    sysctl: new Map(Object.entries({ ...SYSCTLS, ...sample.sysctl })),
    listeners: sample.listeners === undefined ? [listener()] : sample.listeners,
    table: sample.table === undefined ? quietTable() : sample.table,
    ownPorts: [19561],
    ownConnections: sample.ownConnections ?? 0,
    ...(sample.closed ? { closed: sample.closed } : {}),
  };
  if (sample.netstat === null)
    built.netstatError = 'EACCES: permission denied, open /proc/net/netstat';
  return built;
}

const NO_BASELINE = 'rates need counter samples at least 1 s apart: the first was taken not yet';

/**
 * Runs the samples through one engine, each with the latest readable one
 * before it as the start of its rate window; returns the last findings by
 * name.
 */
export function run(samples: Sample[], thresholds: Partial<Thresholds> = {}): Map<string, Finding> {
  const engine = new IncidentEngine({ ...DEFAULT_THRESHOLDS, ...thresholds }, 1000);
  let findings: Finding[] = [];
  let before: CounterSample | null = null;
  for (const sample of samples) {
    const current = input(sample);
    const baseline = before ? { sample: before } : { sample: null, missing: NO_BASELINE };
    findings = engine.evaluate(current, baseline);
    const taken: CounterSample = counterSample(current, 0);
    if (current.netstat) before = taken;
    else if (before !== null && taken.listenerDrops !== null) {
      before = { ...(before as CounterSample), listenerDrops: taken.listenerDrops };
    }
  }
  return new Map(findings.map((finding) => [finding.incident, finding]));
}

export function evidence(finding: Finding | undefined, name: string): number | undefined {
  return finding?.evidence.find((item) => item.name === name)?.value;
}

export function fired(findings: Map<string, Finding>): string[] {
  return [...findings.values()].filter((f) => f.fired).map((f) => f.incident);
}
