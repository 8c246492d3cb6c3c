// One alert per incident, fired by the same signal as the exporter's check:
// the expression (signals.ts), a one-sentence summary and a description that
// says what the value and labels show; rules.ts adds the definition's name,
// severity, `for:` and remedy. Templates use only what templates.ts renders
// (the promtool tests are rendered with it and promtool compares).
import { BY, metric, num } from './promql';
import {
  churnHarm,
  connectionChurn,
  connectionOpens,
  counterRise,
  detected,
  halfOpenFill,
  keepaliveGhosts,
  resets,
  type RuleContext,
  timeWaitBuckets,
} from './signals';

export interface AlertSpec {
  /** Its top-level `or` / `and` parts are the signals (each must return series). */
  expr(c: RuleContext): string;
  summary: string;
  /** What the value and labels show; the definition's remedy follows. */
  description(c: RuleContext): string;
}

// The exporter, and the namespace when the series is another one's (--collector.netns).
const ON = '{{ $labels.instance }}{{ if $labels.netns }} in netns {{ $labels.netns }}{{ end }}';
const LISTENER = '{{ $labels.address }}:{{ $labels.port }}';
const VALUE = '{{ $value | humanize }}';
const PERCENT = '{{ $value | humanizePercentage }}';

const either = (...parts: string[]) => parts.join('\nor\n');
const percent = (ratio: number) => `${num(ratio * 100)}%`;

export const INCIDENT_ALERTS: Readonly<Record<string, AlertSpec>> = {
  accept_queue_overflow: {
    expr: (c) =>
      either(
        `${metric('sockdiag_listener_accept_queue_length', c.scope)} >= (${metric('sockdiag_listener_accept_queue_limit', c.scope)} > 0)`,
        `${counterRise(c, 'accept_queue_overflow')} > 0`,
      ),
    summary: `Accept queue overflow on ${ON}{{ if $labels.port }} at ${LISTENER}{{ end }}.`,
    description: (c) =>
      `{{ if $labels.port }}The listener ${LISTENER} holds ${VALUE} connections waiting for accept(), at its limit (sockdiag_listener_accept_queue_length against sockdiag_listener_accept_queue_limit){{ else }}TcpExt ListenOverflows rose by ${VALUE} in the last ${c.window}: an accept queue was full when handshakes completed (sockdiag_listener_drops_total shows which listener dropped){{ end }}, so completed handshakes are dropped and clients see connect timeouts.`,
  },
  syn_queue_overflow: {
    expr: (c) =>
      either(
        `${counterRise(c, 'syn_queue_overflow')} > 0`,
        `${halfOpenFill(c)} >= ${num(c.th.synBacklogRatio)}`,
      ),
    summary: `SYN queue overflow on ${ON}{{ if $labels.port }} at ${LISTENER}{{ end }}.`,
    description: (c) =>
      `{{ if $labels.port }}The listener ${LISTENER} holds half-open (SYN_RECV) connections at ${PERCENT} of its backlog (sockdiag_listener_half_open_sockets against sockdiag_listener_accept_queue_limit; the alert fires at ${percent(c.th.synBacklogRatio)}): further SYNs get SYN cookies or are dropped{{ else }}TcpExt TCPReqQFullDrop rose by ${VALUE} in the last ${c.window}: SYNs were dropped because a SYN queue was full and SYN cookies were off{{ end }}; handshakes time out under bursts.`,
  },
  time_wait_bucket_overflow: {
    expr: (c) =>
      either(
        `${counterRise(c, 'time_wait_bucket_overflow')} > 0`,
        `${timeWaitBuckets(c)}\n>= ${num(c.th.twBucketsRatio)}`,
      ),
    summary: `TIME_WAIT bucket table {{ if $labels.field }}overflows{{ else }}nearly full{{ end }} on ${ON}.`,
    description: (c) =>
      `{{ if $labels.field }}TcpExt TCPTimeWaitOverflow rose by ${VALUE} in the last ${c.window}: the kernel logged "time wait bucket table overflow" and closed sockets without TIME_WAIT, so late segments of old connections can corrupt new ones{{ else }}TIME_WAIT sockets (sockdiag_sockets{state="time_wait"}) fill ${PERCENT} of net.ipv4.tcp_max_tw_buckets (sockdiag_sysctl; the alert fires at ${percent(c.th.twBucketsRatio)}){{ end }}.`,
  },
  ephemeral_port_exhaustion: {
    expr: (c) =>
      `${metric('sockdiag_ephemeral_ports_busiest_tuple_ratio', c.scope)} >= ${num(c.th.ephemeralRatio)}`,
    summary: `Ephemeral ports toward one peer nearly exhausted on ${ON}.`,
    description: () =>
      `Connections toward the busiest (local address, peer, peer port) use ${PERCENT} of net.ipv4.ip_local_port_range (sockdiag_ephemeral_ports_busiest_tuple_ports against sockdiag_ephemeral_port_range_size; the peers collector names the tuple in sockdiag_ephemeral_ports_busiest_tuple); near 100% connect() fails with EADDRNOTAVAIL or reuses TIME_WAIT ports.`,
  },
  time_wait_reuse: {
    expr: (c) => detected(c, 'time_wait_reuse'),
    summary: `One peer's small port pool cycles through TIME_WAIT on ${ON}.`,
    description: () =>
      `The exporter's check on ${ON} found a service port whose TIME_WAIT sockets nearly all belong to one peer whose source ports fill a small pool and come back while still in TIME_WAIT (a source-NATing load balancer): new SYNs land on TIME_WAIT sockets and are answered with stale ACKs and resets, or dropped by PAWS (sockdiag_incident_evidence{incident="time_wait_reuse"}; GET /doctor names the port).`,
  },
  syn_cookies: {
    expr: (c) => `${counterRise(c, 'syn_cookies')} > 0`,
    summary: `SYN cookies sent on ${ON}.`,
    description: (c) =>
      `TcpExt SyncookiesSent rose by ${VALUE} in the last ${c.window} (see TcpExt TCPReqQFullDoCookies and sockdiag_listener_half_open_sockets): a listener's SYN queue overflowed and cookies answered, or net.ipv4.tcp_syncookies=2 sends them for every SYN; connections made with cookies lose TCP options such as window scaling.`,
  },
  paws_rejects: {
    expr: (c) => `${counterRise(c, 'paws_rejects')} > 0`,
    summary: `PAWS rejects on ${ON} ({{ $labels.field }}).`,
    description: (c) =>
      `TcpExt {{ $labels.field }} rose by ${VALUE} in the last ${c.window}: segments failed the TCP timestamp (PAWS) check, the signature of clients behind one NAT with different timestamp clocks reaching TIME_WAIT sockets; such clients fail to connect intermittently (compare sockdiag_sysctl{name=~"net.ipv4.tcp_timestamps|net.ipv4.tcp_tw_reuse"}).`,
  },
  receive_buffer_collapse: {
    expr: (c) =>
      either(
        `${counterRise(c, 'receive_buffer_collapse')} > 0`,
        `delta(${metric('sockdiag_socket_drops', c.scope)}[${c.window}]) > 0`,
      ),
    summary: `Receive buffers overrun on ${ON}{{ if $labels.field }} ({{ $labels.field }}){{ end }}.`,
    description: (c) =>
      `{{ if $labels.field }}TcpExt {{ $labels.field }} rose by ${VALUE} in the last ${c.window}: receive queues outgrew their buffers, so the kernel collapsed them or pruned and dropped packets{{ else }}Live sockets dropped ${VALUE} more packets in the last ${c.window} (sockdiag_socket_drops){{ end }}; the senders must retransmit (see sockdiag_socket_memory_bytes{kind="rmem_alloc"}; TcpExt PruneCalled alone rises for healthy autotuned receivers and is not counted).`,
  },
  keepalive_ghosts: {
    expr: (c) => `${keepaliveGhosts(c)}\n> 0`,
    summary: `${VALUE} idle ESTABLISHED connections without keepalive on ${ON}.`,
    description: (c) =>
      `${VALUE} ESTABLISHED TCP connections have received nothing for over ${num(c.th.keepaliveIdle)} s and have no keepalive timer (sockdiag_tcp_idle_seconds{keepalive="false"} above le=${num(c.th.keepaliveIdle)}; sockdiag_tcp_timer_sockets{state="established",timer="none"}): if their peers are gone they stay forever, holding memory, file descriptors and pool slots.`,
  },
  connection_churn: {
    expr: (c) =>
      [
        `(${connectionChurn(c)}\n>= ${num(c.th.churnRatio)})`,
        `and on (${BY})\n(${connectionOpens(c)} >= ${num(c.th.churnMinOpens)})`,
        `and on (${BY})\n(${churnHarm(c)})`,
      ].join('\n'),
    summary: `Connection churn with harm on ${ON}.`,
    description: (c) =>
      `Every second {{ printf "%.2f" $value }} connections are opened per ESTABLISHED connection, at ${num(c.th.churnMinOpens)} opens/s or more (Tcp ActiveOpens + PassiveOpens against sockdiag_sockets{state="established"}), together with resets, TIME_WAIT reuse, port exhaustion or TIME_WAIT pressure: connections are opened and closed instead of reused (sockdiag_service_sockets{state="time_wait"} shows the service ports).`,
  },
  resets: {
    expr: resets,
    summary: `TCP resets on ${ON} ({{ if $labels.field }}{{ $labels.field }}{{ else }}aborts and failures{{ end }}).`,
    description: (c) =>
      `{{ if $labels.field }}Tcp {{ $labels.field }} (resets sent){{ else }}Aborts, failed connects and established resets together (TcpExt TCPAbortOn*, Tcp AttemptFails, Tcp EstabResets){{ end }} run at ${VALUE}/s over the last ${c.window}, at or over ${num(c.th.resetsRate)}/s.`,
  },
};
