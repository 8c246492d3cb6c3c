// closed (off by default): every TCP connection the kernel freed since the
// exporter started, from its socket-destroy events (closed/tracker.ts): per
// service port and direction, how many closed and how (outcome), and what
// they carried (bytes each way, segments, minimum RTT, retransmissions).
// One subscription for the exporter's life, not one per scrape; a scrape
// only reads the tally. Peer addresses are never read.
import { OUTCOMES } from '../closed/classify';
import type { PortEntry } from '../closed/tally';
import type { ClosedTracker } from '../closed/tracker';
import { defineCollector, type MetricFamily, type MetricSample } from './collector';
import { histogramSamples } from './families';
import { boolean, integer } from './options';

const HISTOGRAMS = [
  [
    'receivedBytes',
    'sockdiag_closed_connection_received_bytes',
    "Bytes each closed TCP connection received (tcp_info bytes_received at its end; the peer's FIN counts one), per service port and direction. Connections wiped before the event (SO_LINGER 0 aborts, failed connects) are not observed: their bytes are lost.",
  ],
  [
    'ackedBytes',
    'sockdiag_closed_connection_acked_bytes',
    'Bytes each closed TCP connection sent that the peer acknowledged (tcp_info bytes_acked at its end; our SYN, outbound, and our FIN count one each), per service port and direction.',
  ],
  [
    'segments',
    'sockdiag_closed_connection_segments',
    'Segments each closed TCP connection sent and received (tcp_info segs_out + segs_in: handshake, FINs and pure ACKs included), per service port and direction.',
  ],
  [
    'minRttSeconds',
    'sockdiag_closed_connection_min_rtt_seconds',
    'Minimum RTT each closed TCP connection measured (tcp_info min_rtt), per service port and direction; connections without an RTT sample are left out.',
  ],
  [
    'retransmittedSegments',
    'sockdiag_closed_connection_retransmitted_segments',
    'Segments each closed TCP connection retransmitted (tcp_info total_retrans), per service port and direction.',
  ],
] as const;

const portLabel = (entry: PortEntry) => String(entry.port);

function connectionFamilies(tracker: ClosedTracker): MetricFamily[] {
  const entries = tracker.tally.list();
  const closes: MetricSample[] = [];
  for (const entry of entries) {
    const labels = { port: portLabel(entry), direction: entry.direction };
    OUTCOMES.forEach((outcome, i) =>
      closes.push({ labels: { ...labels, outcome }, value: entry.outcomes[i]! }),
    );
  }
  const families: MetricFamily[] = [
    {
      name: 'sockdiag_closed_connections_total',
      help: 'TCP connections closed, from the kernel\'s socket-destroy events, per service port (the local port of a listener for inbound connections, the remote port for outbound ones), direction and outcome: closed (our FIN acknowledged), reset (no FIN of ours acknowledged), unread (ended with received data unread), aborted (closed here with SO_LINGER 0), timeout (given up with unacknowledged data or unanswered probes), failed (the handshake never completed). The first --collector.closed.ports-limit (port, direction) pairs get their own series, later ones port="other"; outbound aborts, whose remote port the kernel wipes, are port="unknown".',
      type: 'counter',
      values: closes,
    },
  ];
  for (const [field, name, help] of HISTOGRAMS) {
    const values: MetricSample[] = [];
    for (const entry of entries) {
      if (!entry.histograms) continue;
      const labels = { port: portLabel(entry), direction: entry.direction };
      values.push(...histogramSamples(entry.histograms[field], name, labels));
    }
    families.push({ name, help, type: 'histogram', values });
  }
  return families;
}

function udpFamily(tracker: ClosedTracker): MetricFamily {
  const { udp, udpOther } = tracker.tally;
  const values: MetricSample[] = [...udp].map(([key, value]) => ({
    labels: { port: String(key >> 1), direction: key & 1 ? 'outbound' : 'inbound' },
    value,
  }));
  for (const direction of ['inbound', 'outbound'] as const) {
    if (udpOther[direction] > 0) {
      values.push({ labels: { port: 'other', direction }, value: udpOther[direction] });
    }
  }
  return {
    name: 'sockdiag_closed_udp_sockets_total',
    help: 'UDP sockets closed (--collector.closed.udp), per port and direction: outbound for a socket on an ephemeral port (port = its remote port, 0 when not connected), inbound otherwise (port = its local port).',
    type: 'counter',
    values,
  };
}

export const closedCollector = defineCollector({
  name: 'closed',
  help: "Every TCP connection that closed, from the kernel's socket-destroy events: counts by service port, direction and outcome; bytes, segments, min RTT and retransmissions per connection. One long-lived subscription; off by default (it costs CPU per close).",
  defaultEnabled: false,
  options: {
    udp: boolean({
      help: 'Also count UDP sockets as they close (DNS traffic alone can flood the subscriber).',
      default: false,
    }),
    portsLimit: integer({
      help: '(service port, direction) pairs with their own series, the first seen; the rest are port="other". A pair with no close for 15 minutes gives its place up.',
      default: 16,
      min: 0,
      max: 1000,
    }),
    receiveBufferBytes: integer({
      help: 'Receive buffer asked of the kernel for destroy events (it grants twice as much; past net.core.rmem_max only with CAP_NET_ADMIN). Events beyond it are lost and counted.',
      default: 16 << 20,
      min: 1,
      max: 1 << 30,
    }),
    netnsLimit: integer({
      help: 'With the netns collector: most other namespaces that get a subscriber of their own (one receiver thread each), by inode; 0 = only our own.',
      default: 32,
      min: 0,
      max: 10_000,
    }),
  },
  create({ udp }) {
    return {
      async collect({ sources }) {
        const tracker = sources.closed;
        if (!tracker) throw new Error('the closed collector has no destroy-event subscriber');
        await tracker.ready();
        return [
          ...connectionFamilies(tracker),
          ...(udp ? [udpFamily(tracker)] : []),
          {
            name: 'sockdiag_closed_events_lost_total',
            help: 'Socket-destroy events lost: dropped by the kernel when the receive buffer was full (ENOBUFS), or not read in time by the exporter. While this rises the closed-connection figures are a lower bound.',
            type: 'counter',
            values: [{ value: tracker.stats().lost }],
          },
        ];
      },
    };
  },
});
