// sockdiag / Connections: RTT, idle sockets with and without keepalive,
// ephemeral ports, TIME_WAIT per peer, receive-buffer pressure and drops;
// then the closed connections (closed.ts), by port and direction.
import { definition } from '../../../src/incidents/definitions';
import type { MixinConfig } from '../config';
import { leMatcher, metric, metricWith, num } from '../promql';
import { closedPanels } from './closed';
import { buildDashboard, type BuiltDashboard, panelContext, type PanelSpec } from './common';
import { alertNote, counterRates, ON, percent, recorded, series, sysctls } from './panels';

export function connections(config: MixinConfig): BuiltDashboard {
  const ctx = panelContext(config);
  const s = ctx.scope;
  const th = config.thresholds;
  const idle = num(th.keepaliveIdle);
  const rtt = metric('sockdiag_tcp_rtt_seconds_bucket', s);
  const quantile = (q: number) => ({
    expr: `histogram_quantile(${q}, sum by (instance, netns, le) (${rtt}))`,
    legend: `${ON} p${Math.round(q * 100)}`,
  });
  const heat = (title: string, description: string, unit: string, expr: string): PanelSpec => ({
    kind: 'heatmap',
    title,
    description,
    unit,
    targets: [{ expr, legend: '{{le}}', format: 'heatmap' }],
    w: 12,
    h: 8,
  });
  // keepalive_ghosts counts the keepalive=false ones (signals.ts); both sides shown here.
  const idleOver = [
    `sum by (instance, netns, keepalive) (${metric('sockdiag_tcp_idle_seconds_count', s)})`,
    `- sum by (instance, netns, keepalive) (${metricWith('sockdiag_tcp_idle_seconds_bucket', s, leMatcher(th.keepaliveIdle))})`,
  ].join('\n');
  return buildDashboard(config, {
    slug: 'connections',
    title: 'Connections',
    description:
      'Established connections: RTT, idle sockets with and without keepalive, ephemeral ports, TIME_WAIT per peer, receive-buffer pressure and drops; closed connections per port (the closed collector).',
    panels: [
      heat(
        'RTT distribution',
        'Smoothed RTT of ESTABLISHED sockets at each scrape; mass moving to higher buckets means congestion, bufferbloat or a slower path to the peers.',
        's',
        `sum by (le) (${rtt})`,
      ),
      series(
        'RTT percentiles',
        'Median and tail RTT over ESTABLISHED sockets; a rising p99 with a flat median means a few peers or paths degrade.',
        's',
        [quantile(0.5), quantile(0.9), quantile(0.99)],
      ),
      series(
        `Sockets idle over ${idle} s`,
        `ESTABLISHED sockets that received nothing for over ${idle} s; keepalive=false ones are possible ghosts that nothing will ever close (${alertNote('keepalive_ghosts', 'the first keepalive=false one')}).`,
        'short',
        [{ expr: idleOver, legend: `${ON} keepalive={{keepalive}}` }],
      ),
      heat(
        'Idle time without keepalive',
        'How long ESTABLISHED sockets without keepalive have been silent; a band in the top buckets (hours, days) is ghost connections.',
        's',
        `sum by (le) (${metric('sockdiag_tcp_idle_seconds_bucket', s, { keepalive: 'false' })})`,
      ),
      series(
        'ESTABLISHED sockets by timer',
        'Pending timer of ESTABLISHED sockets; many with timer none are unprotected by keepalive, a growing retransmit or zero_window_probe share means loss or stalled receivers.',
        'short',
        [
          {
            expr: `sum by (timer) (${metric('sockdiag_tcp_timer_sockets', s, { state: 'established' })})`,
            legend: '{{timer}}',
          },
        ],
      ),
      sysctls(
        ctx,
        'Keepalive settings',
        'tcp_keepalive_time and tcp_keepalive_intvl; with the default 7200 s a vanished peer is noticed only after two hours plus the probes.',
        ['net.ipv4.tcp_keepalive_time', 'net.ipv4.tcp_keepalive_intvl'],
        's',
      ),
      {
        kind: 'gauge',
        title: 'Ephemeral-port utilisation',
        description: `Ports of ip_local_port_range in use toward the busiest (local address, peer, peer port); ${alertNote('ephemeral_port_exhaustion', percent(th.ephemeralRatio))}, near 100% connect() fails.`,
        unit: 'percentunit',
        targets: [
          {
            expr: `max by (instance, netns) (${metric('sockdiag_ephemeral_ports_busiest_tuple_ratio', s)})`,
            legend: ON,
          },
        ],
        redFrom: th.ephemeralRatio,
        min: 0,
        max: 1,
        w: 8,
        h: 8,
      },
      series(
        'Ephemeral ports toward the busiest tuple',
        'Ports in use toward the busiest tuple against the size of ip_local_port_range; when the line nears the range new connections to that peer fail.',
        'short',
        [
          {
            expr: metric('sockdiag_ephemeral_ports_busiest_tuple_ports', s),
            legend: `${ON} ports in use`,
          },
          {
            expr: metric('sockdiag_ephemeral_port_range_size', s),
            legend: `${ON} range size`,
          },
        ],
        { w: 8 },
      ),
      {
        kind: 'table',
        title: 'Busiest tuple (peers collector)',
        description:
          'The (local address, peer, peer port) using most ephemeral ports, with --collector.peers; a count near the range size names the peer that runs out of ports.',
        unit: 'short',
        targets: [
          {
            expr: metric('sockdiag_ephemeral_ports_busiest_tuple', s),
            instant: true,
            format: 'table',
          },
        ],
        w: 8,
        h: 8,
      },
      series(
        'TIME_WAIT per peer (peers collector)',
        'TIME_WAIT sockets toward the busiest peers, with --collector.peers; thousands toward one peer behind SNAT is the port-reuse signature that ends in resets.',
        'short',
        [
          {
            expr: `topk(10, ${metric('sockdiag_peer_sockets', s, { state: 'time_wait' })})`,
            legend: `${ON} {{peer}}`,
          },
        ],
      ),
      series(
        'Sockets per peer and state (peers collector)',
        'Sockets toward the busiest peers by state, with --collector.peers; close_wait piling toward one peer means unclosed connections, syn_recv from one peer a flood.',
        'short',
        [
          {
            expr: `topk(10, ${metricWith('sockdiag_peer_sockets', s, 'state!="time_wait"')})`,
            legend: `${ON} {{peer}} {{state}}`,
          },
        ],
      ),
      counterRates(
        ctx,
        'Receive-buffer pressure',
        `Receive queues collapsed, pruned or dropped because buffers were full (${alertNote('receive_buffer_collapse')}; PruneCalled alone is healthy autotuning).`,
        [...definition('receive_buffer_collapse').counters, 'TcpExt.PruneCalled'],
      ),
      series(
        'Drops on live sockets',
        'Packets dropped by the sockets alive now (skmeminfo drops, not monotonic) and how many sockets dropped; a rising line points at a receiver that cannot keep up.',
        'short',
        [
          {
            expr: `sum by (instance, netns) (${metric('sockdiag_socket_drops', s)})`,
            legend: `${ON} drops`,
          },
          {
            expr: `sum by (instance, netns) (${metric('sockdiag_sockets_with_drops', s)})`,
            legend: `${ON} sockets with drops`,
          },
        ],
      ),
      series(
        'Socket buffer memory',
        'Receive (rmem_alloc) and send (wmem_queued) buffer memory of TCP sockets and unread bytes; a growing receive side means applications do not read, a growing send side slow peers.',
        'bytes',
        [
          {
            expr: `sum by (instance, netns, kind) (${metric('sockdiag_socket_memory_bytes', s)})`,
            legend: `${ON} {{kind}}`,
          },
          {
            expr: `sum by (instance, netns, protocol) (${metric('sockdiag_socket_receive_queue_bytes', s)})`,
            legend: `${ON} {{protocol}} unread`,
          },
        ],
      ),
      series(
        'Connection churn',
        `Connections opened per second per ESTABLISHED connection; at ${num(th.churnRatio)} or more with ${num(th.churnMinOpens)}+ opens/s and resets or TIME_WAIT pressure, ${definition('connection_churn').alert} fires.`,
        'short',
        [recorded(ctx, 'connectionChurn', s)],
        { redFrom: th.churnRatio },
      ),
      counterRates(
        ctx,
        'PAWS rejects',
        `Segments rejected by the TCP timestamp (PAWS) check per second (${alertNote('paws_rejects')}): clients behind one NAT with different clocks, which then fail to connect intermittently.`,
        [...definition('paws_rejects').counters, 'TcpExt.TCPACKSkippedPAWS'],
      ),
      series(
        'Orphaned TCP sockets',
        "TCP sockets no longer attached to a process (closing); a climb toward net.ipv4.tcp_max_orphans ends in 'too many orphaned sockets' and resets.",
        'short',
        [
          {
            expr: `sum by (instance, netns) (${metric('sockdiag_sockstat_TCP_orphan', s)})`,
            legend: `${ON} orphans`,
          },
        ],
      ),
      ...closedPanels(s),
    ],
  });
}
