// Every kernel TCP/IP counter nstat shows, one family per field, with the
// kernel's spelling kept so `grep ListenOverflows` finds it. No allow-list:
// node_exporter's regex is why users keep asking for TCPTimeWaitOverflow and
// friends one PR at a time (node_exporter #2328), and a kernel's new fields
// should appear without a release of ours.
import { ProcfsError } from '../errors';
import { throwIfProblems } from '../procfs/read';
import { type MetricSample, simpleCollector } from './collector';
import { family } from './families';

/**
 * Fields that are levels or constants, not event counts. nstat hides most of
 * these as "useless numbers" because a delta of them means nothing.
 */
const GAUGES = new Set([
  'Tcp.RtoAlgorithm',
  'Tcp.RtoMin',
  'Tcp.RtoMax',
  'Tcp.MaxConn',
  'Tcp.CurrEstab',
  'Ip.Forwarding',
  'Ip.DefaultTTL',
  'MPTcpExt.MPCurrEstab',
]);

// One sentence each for the counters the incidents hinge on, from the
// kernel code that increments them (docs/KERNEL.md lists them by incident).
export const NETSTAT_MEANINGS: Record<string, string> = {
  'TcpExt.ListenOverflows':
    "a listener's accept queue was full, so a SYN was dropped or a completed handshake got no socket",
  'TcpExt.ListenDrops':
    'a connection was dropped at a listener for any reason, overflows included (>= ListenOverflows)',
  'TcpExt.SyncookiesSent': 'a SYN cookie was sent (SYN queue full, or tcp_syncookies=2)',
  'TcpExt.SyncookiesRecv': 'an ACK carried a valid SYN cookie and completed a handshake',
  'TcpExt.SyncookiesFailed': 'an ACK carried a SYN cookie that did not validate',
  'TcpExt.TCPReqQFullDoCookies': 'the SYN queue was full, so a SYN cookie was sent instead',
  'TcpExt.TCPReqQFullDrop': 'the SYN queue was full and SYN cookies were off, so a SYN was dropped',
  'TcpExt.EmbryonicRsts': 'a RST arrived for a connection still in SYN_RECV',
  'TcpExt.TCPTimeWaitOverflow':
    'tcp_max_tw_buckets was reached, so a closing socket skipped TIME_WAIT ("time wait bucket table overflow")',
  'TcpExt.TW': 'a socket entered TIME_WAIT with the normal timeout (counted when scheduled)',
  'TcpExt.TWRecycled':
    "a new outgoing connection took over a TIME_WAIT socket's 4-tuple (tcp_tw_reuse)",
  'TcpExt.TWKilled': 'a socket entered TIME_WAIT with a short timeout of at most 4 s',
  'TcpExt.PAWSActive': 'a SYN-ACK was rejected in SYN_SENT by the PAWS timestamp check',
  'TcpExt.PAWSEstab':
    'a segment was rejected by the PAWS timestamp check on an established (or, before 6.16, TIME_WAIT) socket',
  'TcpExt.PAWSOldAck': 'an old ACK was rejected by the PAWS timestamp check (Linux 6.14+)',
  'TcpExt.PAWSTimewait':
    'a segment to a TIME_WAIT socket was rejected by the PAWS timestamp check (Linux 6.16+)',
  'TcpExt.PAWSPassive':
    'a SYN was rejected by the tcp_tw_recycle per-peer timestamp check, the NAT client failure (Linux < 4.12 only)',
  'TcpExt.TCPACKSkippedPAWS': 'a dupack answering a PAWS-rejected segment was rate-limited away',
  'TcpExt.TCPRcvCollapsed':
    'packets were collapsed in a receive queue because the socket buffer was low',
  'TcpExt.PruneCalled': "a socket's receive queue was pruned because it exceeded its buffer",
  'TcpExt.RcvPruned': 'pruning could not free enough memory, so received packets were dropped',
  'TcpExt.OfoPruned': 'out-of-order queued packets were dropped to free memory',
  'TcpExt.TCPRcvQDrop': "a packet was dropped because the socket's receive memory could not grow",
  'TcpExt.TCPBacklogDrop':
    'a packet was dropped because the backlog of a user-locked socket was full',
  'TcpExt.TCPAbortOnTimeout':
    'a connection was aborted after its retransmissions or keepalive probes ran out',
  'TcpExt.TCPKeepAlive': 'a keepalive probe was sent',
  'TcpExt.TCPChallengeACK':
    'an RFC 5961 challenge ACK was sent (rate-limited by tcp_challenge_ack_limit)',
  'TcpExt.TCPSynRetrans': 'a SYN or SYN-ACK was retransmitted',
  'Tcp.OutRsts': 'a RST was sent',
  'Tcp.EstabResets':
    'a connection went from ESTABLISHED or CLOSE_WAIT straight to CLOSED (reset or abort)',
  'Tcp.AttemptFails': 'a connection attempt failed in SYN_SENT or SYN_RECV',
  'Tcp.ActiveOpens': 'a connect() sent a SYN',
  'Tcp.PassiveOpens': 'a listener answered a SYN',
  'Tcp.RetransSegs': 'a segment was retransmitted',
  'Tcp.CurrEstab': 'connections now in ESTABLISHED or CLOSE_WAIT',
  'Tcp.RtoAlgorithm': 'constant 1 (other: the kernel computes RTO per RFC 6298)',
  'Tcp.RtoMin': 'minimum retransmission timeout, in milliseconds',
  'Tcp.RtoMax': 'maximum retransmission timeout, in milliseconds',
  'Tcp.MaxConn': 'constant -1: no fixed connection limit',
  'Ip.Forwarding': '1 when IPv4 forwarding is on, 2 when off',
  'Ip.DefaultTTL': 'TTL of outgoing IPv4 packets (net.ipv4.ip_default_ttl)',
  'MPTcpExt.MPCurrEstab': 'MPTCP connections now established',
};

// One family for the counters and one for the gauges, the kernel's group and
// field as labels: names like sockdiag_netstat_TcpExt_ListenOverflows_total
// fail promtool's snake_case lint, while a label keeps the kernel's exact
// spelling for `grep ListenOverflows`, and a new kernel field appears
// without a new metric name. Per-field meanings: NETSTAT_MEANINGS, README.
export const netstatCollector = simpleCollector({
  name: 'netstat',
  help: 'Kernel TCP/IP counters from /proc/net/netstat, snmp and snmp6 (all of what nstat shows)',
  async collect({ sources }) {
    const snapshot = await sources.netstat;
    // snmp6 alone may be absent (IPv6 disabled); without both IPv4 files the
    // procfs path is wrong, and an empty success would hide that.
    if (snapshot.netstat === null && snapshot.snmp === null) {
      throw new ProcfsError(
        `${sources.procfs}/net/snmp`,
        `neither net/netstat nor net/snmp exists: point --path.procfs at a mounted procfs`,
      );
    }
    // A file with nothing that parses, or a value the kernel cannot print:
    // the collector fails rather than serve part of the counters as all.
    throwIfProblems(snapshot.problems);
    const counters: MetricSample[] = [];
    const gauges: MetricSample[] = [];
    for (const [key, value] of snapshot.values) {
      const dot = key.indexOf('.');
      const labels = { group: key.slice(0, dot), field: key.slice(dot + 1) };
      (GAUGES.has(key) ? gauges : counters).push({ labels, value });
    }
    return [
      family(
        'sockdiag_netstat_total',
        'Kernel TCP/IP counters from /proc/net/netstat, /proc/net/snmp and /proc/net/snmp6 (what nstat shows), by group (TcpExt, Tcp, IpExt, Ip6...) and field (ListenOverflows...), spelled as the kernel does.',
        'counter',
        counters,
      ),
      family(
        'sockdiag_netstat_value',
        'Kernel TCP/IP values that are levels or constants, not counts (Tcp CurrEstab, RtoMin, RtoMax, MaxConn, RtoAlgorithm, Ip Forwarding, DefaultTTL, MPTcpExt MPCurrEstab).',
        'gauge',
        gauges,
      ),
    ];
  },
});
