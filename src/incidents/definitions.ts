// One definition per incident: its name (the `incident` label), title,
// severity, what it means and what it does not, the remedy that works for
// its usual cause, the thresholds and kernel counters its check decides on,
// and the alert that stands for it in Prometheus. The checks, /doctor, the
// README's incident table and the monitoring mixin (grafana/mixin: alert
// rules, dashboards) take these from here, so that a rule and a check cannot
// disagree on what fires. Order = the order to act in.
import type { THRESHOLD_OPTIONS } from './thresholds';
import type { Severity } from './types';

export type ThresholdName = keyof typeof THRESHOLD_OPTIONS;

export interface IncidentDefinition {
  incident: string;
  title: string;
  severity: Severity;
  /** One sentence: what a firing means. */
  means: string;
  /** One sentence: what it does not mean (the look-alike it is kept apart from). */
  notMeans: string;
  /** The remedy for the usual cause; a check may name a more specific one. */
  remedy: string;
  /** The thresholds (thresholds.ts) the check compares with; its alert rule compares with the same. */
  thresholds: readonly ThresholdName[];
  /**
   * Kernel counters, "group.field" as nstat spells them, whose rise within
   * the window (thresholds.ts `window`) fires the incident: any rise, unless
   * a threshold names a rate. Other counters a check reads are evidence.
   */
  counters: readonly string[];
  /** The Prometheus alert that stands for the incident (CamelCase). */
  alert: string;
  /**
   * How long the alert's condition must hold before it fires (its `for:`).
   * The check decides at each look; /doctor remembers (thresholds.ts `remember`).
   */
  alertFor: string;
}

/** The PAWS counters that fire paws_rejects (TCPACKSkippedPAWS is only evidence). */
const PAWS_COUNTERS = [
  'TcpExt.PAWSTimewait',
  'TcpExt.PAWSEstab',
  'TcpExt.PAWSActive',
  'TcpExt.PAWSOldAck',
  'TcpExt.PAWSPassive',
];

/** What ends a connection badly: aborts by cause, failed handshakes, resets of established ones. */
export const RESET_KIND_COUNTERS = [
  'TcpExt.TCPAbortOnTimeout',
  'TcpExt.TCPAbortOnData',
  'TcpExt.TCPAbortOnClose',
  'TcpExt.TCPAbortOnMemory',
  'TcpExt.TCPAbortOnLinger',
  'Tcp.AttemptFails',
  'Tcp.EstabResets',
];

/** TIME_WAIT sockets / tcp_max_tw_buckets at which churn counts as harmful (TIME_WAIT pressure). */
export const CHURN_TIME_WAIT_PRESSURE = 0.5;

export const INCIDENTS: readonly IncidentDefinition[] = [
  {
    incident: 'accept_queue_overflow',
    title: 'Accept queue overflow: completed handshakes are dropped at a listener',
    severity: 'critical',
    means:
      "A listener's accept queue is full or ListenOverflows rose: the application does not accept() as fast as connections complete.",
    notMeans:
      'ListenDrops or the listener drop counter alone (they also count SYN-queue and memory drops) is not an accept-queue overflow.',
    remedy:
      'Make the application accept() faster (more workers, an event loop that is not blocked), then raise its listen() backlog together with net.core.somaxconn.',
    thresholds: [],
    counters: ['TcpExt.ListenOverflows'],
    alert: 'SockdiagAcceptQueueOverflow',
    alertFor: '1m',
  },
  {
    incident: 'syn_queue_overflow',
    title: 'SYN queue overflow: half-open connections at the SYN-queue limit',
    severity: 'critical',
    means:
      "A listener's half-open (SYN_RECV) requests reach its SYN-queue limit, or TCPReqQFullDrop rose: SYNs were dropped.",
    notMeans:
      'A full SYN queue answered with SYN cookies drops nothing: that is reported as answered with cookies, and syn_cookies says so.',
    remedy:
      'Raise the limit that binds (the listen() backlog and net.core.somaxconn, or net.ipv4.tcp_max_syn_backlog without cookies) and look for the clients that never complete handshakes.',
    thresholds: ['synBacklogRatio'],
    counters: ['TcpExt.TCPReqQFullDrop'],
    alert: 'SockdiagSynQueueOverflow',
    alertFor: '1m',
  },
  {
    incident: 'time_wait_bucket_overflow',
    title: 'TIME_WAIT bucket overflow: closing sockets skip TIME_WAIT',
    severity: 'warning',
    means:
      'TIME_WAIT sockets reach net.ipv4.tcp_max_tw_buckets, or TCPTimeWaitOverflow rose ("time wait bucket table overflow").',
    notMeans: 'Many TIME_WAIT sockets below the limit are normal for a busy server.',
    remedy:
      'Reuse connections (keep-alive, pooling) instead of opening one per request, or raise net.ipv4.tcp_max_tw_buckets.',
    thresholds: ['twBucketsRatio'],
    counters: ['TcpExt.TCPTimeWaitOverflow'],
    alert: 'SockdiagTimeWaitBucketOverflow',
    alertFor: '1m',
  },
  {
    incident: 'ephemeral_port_exhaustion',
    title: 'Ephemeral port exhaustion toward one peer',
    severity: 'warning',
    means:
      'Nearly every port of net.ipv4.ip_local_port_range is in use toward one (local address, peer, peer port): new connects there fail or reuse TIME_WAIT ports.',
    notMeans: 'Many connections spread over many peers use no more ports per peer.',
    remedy:
      'Reuse connections to that peer, add local source addresses or peer addresses, or widen net.ipv4.ip_local_port_range.',
    thresholds: ['ephemeralRatio'],
    counters: [],
    alert: 'SockdiagEphemeralPortExhaustion',
    alertFor: '5m',
  },
  {
    incident: 'time_wait_reuse',
    title:
      "TIME_WAIT reuse: one peer's small port pool cycles through this server's TIME_WAIT sockets",
    severity: 'warning',
    means:
      'Nearly all TIME_WAIT sockets of a service port belong to one peer address whose source ports fill a small pool, and connections arrive faster than the pool can age out of TIME_WAIT: new SYNs land on TIME_WAIT sockets, and without timestamps about half are answered with a stale ACK and reset (a source-NATing load balancer).',
    notMeans:
      'A client opening one connection per request from its full ephemeral range, or with TCP timestamps on (the kernel then accepts the reused port), is churn, not reuse.',
    remedy:
      'Reuse connections between the balancer and this server (keep-alive, pooling), give the balancer a larger SNAT pool (more ports or addresses), and keep TCP timestamps end to end; net.ipv4.tcp_tw_reuse on this server does not help (it applies to outgoing connections).',
    thresholds: ['twReuseMinSockets', 'twReuseConcentration', 'twReuseDensity', 'twReusePressure'],
    counters: [],
    alert: 'SockdiagTimeWaitReuse',
    alertFor: '5m',
  },
  {
    incident: 'syn_cookies',
    title: 'SYN cookies are being sent',
    severity: 'warning',
    means:
      'SyncookiesSent rose: a SYN queue overflowed and cookies answered (or net.ipv4.tcp_syncookies=2 sends them always).',
    notMeans: 'Cookies are not drops: the handshakes still complete, without some TCP options.',
    remedy:
      'Raise the listen() backlog and net.core.somaxconn (and net.ipv4.tcp_max_syn_backlog), or find the SYN flood.',
    thresholds: [],
    counters: ['TcpExt.SyncookiesSent'],
    alert: 'SockdiagSynCookies',
    alertFor: '1m',
  },
  {
    incident: 'paws_rejects',
    title: 'PAWS rejects: segments dropped by the TCP timestamp check',
    severity: 'warning',
    means:
      'A PAWS counter rose: segments carried a timestamp older than the one the socket remembers and were dropped.',
    notMeans:
      'It is not tcp_tw_recycle on current kernels (removed in 4.12): with PAWSTimewait it is usually clients behind one NAT, each with its own timestamp clock, reaching TIME_WAIT sockets.',
    remedy:
      'Keep clients behind one NAT from reaching the same TIME_WAIT 4-tuples (connection reuse through the NAT, a larger NAT pool), and make the NAT keep or rewrite timestamps consistently.',
    thresholds: [],
    counters: PAWS_COUNTERS,
    alert: 'SockdiagPawsRejects',
    alertFor: '5m',
  },
  {
    incident: 'receive_buffer_collapse',
    title: 'Receive buffer collapse: received data collapsed, pruned or dropped for lack of buffer',
    severity: 'warning',
    means:
      'TCPRcvCollapsed, RcvPruned, OfoPruned or TCPRcvQDrop rose, or live sockets dropped packets: receivers hold data longer than their buffers allow.',
    notMeans:
      'PruneCalled alone rises for healthy autotuned receivers that drain promptly: it is evidence, not a trigger.',
    remedy:
      'Make the receivers read faster, or give them more buffer (SO_RCVBUF, net.ipv4.tcp_rmem max, net.core.rmem_max).',
    thresholds: [],
    counters: [
      'TcpExt.TCPRcvCollapsed',
      'TcpExt.RcvPruned',
      'TcpExt.OfoPruned',
      'TcpExt.TCPRcvQDrop',
    ],
    alert: 'SockdiagReceiveBufferCollapse',
    alertFor: '5m',
  },
  {
    incident: 'keepalive_ghosts',
    title: 'Idle ESTABLISHED connections without keepalive (possible ghosts)',
    severity: 'info',
    means:
      'ESTABLISHED sockets without a keepalive timer have received nothing for longer than the threshold: if their peers are gone, nothing will ever close them.',
    notMeans:
      'A live client that is idle looks the same; only unacknowledged data or retransmission backoff makes a dead peer certain.',
    remedy:
      'Enable SO_KEEPALIVE (and tune net.ipv4.tcp_keepalive_time) or application idle timeouts, so connections whose peer vanished are closed.',
    thresholds: ['keepaliveIdle'],
    counters: [],
    alert: 'SockdiagKeepaliveGhosts',
    alertFor: '1h',
  },
  {
    incident: 'connection_churn',
    title: 'Connection churn: connections are opened and closed instead of reused',
    severity: 'info',
    means:
      'Connections open fast for the number established, together with harm: resets, TIME_WAIT reuse, port exhaustion or TIME_WAIT bucket pressure.',
    notMeans:
      'Churn without any of those is reported as informational and does not fire: many services open one connection per request on purpose.',
    remedy:
      'Reuse connections (HTTP keep-alive, connection pools); the TIME_WAIT service ports show which clients open one connection per request.',
    thresholds: ['churnRatio', 'churnMinOpens'],
    counters: ['Tcp.ActiveOpens', 'Tcp.PassiveOpens'],
    alert: 'SockdiagConnectionChurn',
    alertFor: '15m',
  },
  {
    incident: 'resets',
    title: 'Connection resets and aborts',
    severity: 'warning',
    means:
      'Resets or aborts per second passed the threshold; the finding names the kind the kernel counted most.',
    notMeans: 'A few resets are normal (clients that close with unread data, scanners).',
    remedy:
      'Find who resets: the kind the kernel counted most (GET /doctor names it) points at the usual cause and its remedy.',
    thresholds: ['resetsRate'],
    counters: ['Tcp.OutRsts', ...RESET_KIND_COUNTERS],
    alert: 'SockdiagResets',
    alertFor: '5m',
  },
];

export const INCIDENT_NAMES: readonly string[] = INCIDENTS.map((d) => d.incident);

export function definition(incident: string): IncidentDefinition {
  const found = INCIDENTS.find((d) => d.incident === incident);
  if (!found) throw new Error(`no incident ${incident}`);
  return found;
}

/** The README's incident table: what each signature means and what not. */
export function incidentTable(): string {
  const rows = [
    '| incident | severity | what it means | what it does not mean |',
    '|---|---|---|---|',
  ];
  for (const d of INCIDENTS) {
    rows.push(`| \`${d.incident}\` | ${d.severity} | ${d.means} | ${d.notMeans} |`);
  }
  return rows.join('\n');
}
