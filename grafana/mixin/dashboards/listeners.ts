// sockdiag / Listeners: every listening endpoint's accept queue against its
// limit, drops, half-open connections, and connections per service port.
// Listener owners (process, unit, cgroup, pod) in a table beside them.
import type { MixinConfig } from '../config';
import { metric } from '../promql';
import { buildDashboard, type BuiltDashboard, panelContext, queryVariable } from './common';
import {
  alertNote,
  LISTENER_LEGEND,
  percent,
  perListener,
  RATE,
  recorded,
  series,
  sysctls,
} from './panels';

const OWNER_LABELS = 'process, unit, cgroup, pod_uid, container_id';

export function listeners(config: MixinConfig): BuiltDashboard {
  const ctx = panelContext(config);
  const p = ctx.portScope;
  const th = config.thresholds;
  const instant = (expr: string) => ({ expr, instant: true, format: 'table' as const });
  // Owner labels onto a per-listener series: one owner_info per listener of a table.
  const owned = (expr: string) =>
    [
      expr,
      `* on (job, instance, netns, family, address, port) group_left (${OWNER_LABELS})`,
      metric('sockdiag_listener_owner_info', p),
    ].join('\n');
  const service = (matchers = {}) =>
    `sum by (netns, port, state) (${metric('sockdiag_service_sockets', p, matchers)})`;
  return buildDashboard(config, {
    slug: 'listeners',
    title: 'Listeners',
    description:
      'Per listening endpoint: accept queue against its limit, drops, half-open connections, and connections per service port by state.',
    variables: [
      queryVariable(
        'port',
        'Port',
        'label_values(sockdiag_listener_accept_queue_limit{job=~"$job", instance=~"$instance", netns=~"$netns"}, port)',
        3,
      ),
    ],
    panels: [
      {
        kind: 'table',
        title: 'Listeners',
        description:
          'Every listener with its accept queue, limit, fill, drops over the range and half-open requests; a fill of 100% or drops above 0 mean refused connections.',
        unit: 'short',
        targets: [
          instant(metric('sockdiag_listener_accept_queue_length', p)),
          instant(metric('sockdiag_listener_accept_queue_limit', p)),
          instant(recorded(ctx, 'acceptQueueFill', p).expr),
          instant(`increase(${metric('sockdiag_listener_drops_total', p)}[$__range])`),
          instant(metric('sockdiag_listener_half_open_sockets', p)),
          instant(metric('sockdiag_listener_sockets', p)),
        ],
        w: 24,
        h: 8,
      },
      {
        kind: 'table',
        title: 'Listener owners',
        description:
          'Who holds each listener (process, systemd unit, cgroup, pod UID, container id) with its accept queue fill; empty owner labels are explained in the notes of GET /doctor.',
        unit: 'percentunit',
        targets: [instant(owned(recorded(ctx, 'acceptQueueFill', p).expr))],
        w: 24,
        h: 8,
      },
      perListener(
        ctx,
        'Accept queue length and limit',
        "Connections waiting for accept() against the listener's backlog; when the queue reaches the limit the application accepts too slowly and handshakes are dropped.",
        'short',
        [
          ['sockdiag_listener_accept_queue_length', 'queued'],
          ['sockdiag_listener_accept_queue_limit', 'limit'],
        ],
      ),
      series(
        'Accept queue fill',
        `Accept queue length divided by its limit per listener; at 100% new connections are dropped (ListenOverflows) and ${alertNote('accept_queue_overflow', '100%')}.`,
        'percentunit',
        [recorded(ctx, 'acceptQueueFill', p, LISTENER_LEGEND)],
        { redFrom: 1 },
      ),
      series(
        'Listener drops',
        'Packets each listener dropped per second (accept-queue overflows and other listen drops); above 0 clients are retrying SYNs or timing out.',
        'pps',
        [
          {
            expr: `rate(${metric('sockdiag_listener_drops_total', p)}${RATE})`,
            legend: LISTENER_LEGEND,
          },
        ],
      ),
      perListener(
        ctx,
        'Half-open connections (SYN_RECV)',
        "Handshakes in progress per listener; near the listener's backlog the SYN queue is full and SYN cookies or drops follow: a SYN flood or clients that never finish handshakes.",
        'short',
        [['sockdiag_listener_half_open_sockets', '']],
      ),
      series(
        'SYN queue fill',
        `Half-open requests as a share of the listener's backlog, which is also its SYN-queue limit; ${alertNote('syn_queue_overflow', percent(th.synBacklogRatio))}, and at 100% new SYNs get cookies or are dropped.`,
        'percentunit',
        [recorded(ctx, 'halfOpenFill', p, LISTENER_LEGEND)],
        { redFrom: th.synBacklogRatio },
      ),
      perListener(
        ctx,
        'Listening sockets per endpoint',
        'Listening sockets bound to each endpoint (more than 1 with SO_REUSEPORT); fewer than the service has workers means a worker stopped listening.',
        'short',
        [['sockdiag_listener_sockets', '']],
      ),
      series(
        'Connections per service port by state',
        'TCP connections to each local port that has a listener, by state; a port piling up syn_recv, close_wait or time_wait is the one in trouble.',
        'short',
        [{ expr: `${service()} > 0`, legend: '{{netns}} {{port}} {{state}}' }],
        { w: 24, h: 9 },
      ),
      series(
        'TIME_WAIT and CLOSE_WAIT per service port',
        'TIME_WAIT piling up on a service port means clients open one connection per request; CLOSE_WAIT growing means the service does not close connections its peers closed.',
        'short',
        [
          {
            expr: service({ state: ['time_wait', 'close_wait'] }),
            legend: '{{netns}} {{port}} {{state}}',
          },
        ],
      ),
      sysctls(
        ctx,
        'Backlog settings',
        'Sysctls that bound the queues: a listen() backlog above net.core.somaxconn is silently capped; tcp_syncookies=0 turns SYN-queue overflows into drops.',
        [
          'net.core.somaxconn',
          'net.ipv4.tcp_max_syn_backlog',
          'net.ipv4.tcp_syncookies',
          'net.ipv4.tcp_abort_on_overflow',
        ],
        'locale',
      ),
    ],
  });
}
