// Closed connections (the closed collector, off by default): what every
// finished TCP connection carried, per service port and direction, from the
// kernel's socket-destroy events. Panels of the Connections dashboard; they
// show nothing until --collector.closed is on.
import { metric, type Scope } from '../promql';
import type { PanelSpec, Target } from './common';
import { ON, RATE, series } from './panels';

const OFF_NOTE = 'Needs --collector.closed.';

function histogramQuantiles(name: string, scope: Scope, quantiles: readonly number[]): Target[] {
  const buckets = `rate(${metric(`${name}_bucket`, scope)}${RATE})`;
  return quantiles.map((q) => ({
    expr: `histogram_quantile(${q}, sum by (instance, netns, port, direction, le) (${buckets}))`,
    legend: `${ON} {{direction}} :{{port}} p${Math.round(q * 100)}`,
  }));
}

/** Mean per connection over the rate window: the histogram's sum over its count. */
function perConnection(name: string, scope: Scope): Target {
  const by = 'sum by (instance, netns, port, direction)';
  return {
    expr: `${by} (rate(${metric(`${name}_sum`, scope)}${RATE}))\n/ ${by} (rate(${metric(`${name}_count`, scope)}${RATE}))`,
    legend: `${ON} {{direction}} :{{port}}`,
  };
}

export function closedPanels(scope: Scope): PanelSpec[] {
  const closed = metric('sockdiag_closed_connections_total', scope);
  return [
    series(
      'Closed connections by outcome',
      `TCP connections closed per second by how they ended; a rising reset, unread, aborted or timeout share is connections that did not finish cleanly (docs/CLOSED.md). ${OFF_NOTE}`,
      'cps',
      [
        {
          expr: `sum by (instance, netns, outcome) (rate(${closed}${RATE}))`,
          legend: `${ON} {{outcome}}`,
        },
      ],
    ),
    series(
      'Closed connections per port',
      `Connections closed per second on the busiest service ports (a listener's port inbound, the remote port outbound); thousands per second on one port with few bytes each is persistent connections not reused. ${OFF_NOTE}`,
      'cps',
      [
        {
          expr: `topk(10, sum by (instance, netns, port, direction) (rate(${closed}${RATE})))`,
          legend: `${ON} {{direction}} :{{port}}`,
        },
      ],
    ),
    {
      kind: 'heatmap',
      title: 'Bytes received per closed connection',
      description: `How many bytes each connection received before it closed; a band at a few hundred bytes on a busy port is one request per connection. ${OFF_NOTE}`,
      unit: 'bytes',
      targets: [
        {
          expr: `sum by (le) (rate(${metric('sockdiag_closed_connection_received_bytes_bucket', scope)}${RATE}))`,
          legend: '{{le}}',
          format: 'heatmap',
        },
      ],
      w: 12,
      h: 8,
    },
    series(
      'Bytes acknowledged per closed connection',
      `Median and tail of the bytes each connection sent that the peer acknowledged, per port and direction. ${OFF_NOTE}`,
      'bytes',
      histogramQuantiles('sockdiag_closed_connection_acked_bytes', scope, [0.5, 0.99]),
    ),
    series(
      'Minimum RTT of closed connections',
      `Median and tail of each closed connection's minimum RTT per port: the path's floor, without queueing; a rise is a longer or slower path to the peers. ${OFF_NOTE}`,
      's',
      histogramQuantiles('sockdiag_closed_connection_min_rtt_seconds', scope, [0.5, 0.99]),
    ),
    series(
      'Retransmitted segments per closed connection',
      `Mean segments each connection retransmitted, per port and direction; above zero on a local service is loss or a receiver that stalls. ${OFF_NOTE}`,
      'short',
      [perConnection('sockdiag_closed_connection_retransmitted_segments', scope)],
    ),
    series(
      'Segments per closed connection',
      `Mean segments sent and received per connection (about 10 for one small request, handshake included). ${OFF_NOTE}`,
      'short',
      [perConnection('sockdiag_closed_connection_segments', scope)],
    ),
    series(
      'Destroy events lost',
      `Socket-destroy events lost per second (the receive buffer overran); while above zero the closed-connection figures are a lower bound and /doctor says so. ${OFF_NOTE}`,
      'cps',
      [
        {
          expr: `sum by (instance, netns) (rate(${metric('sockdiag_closed_events_lost_total', scope)}${RATE}))`,
          legend: `${ON} lost`,
        },
      ],
    ),
  ];
}
