// sockets: the whole socket table from one netlink pass per scrape. State
// counts (zeros included), queued bytes (listeners excluded), timers, RTT
// and idle histograms, socket memory and drops, sockets per service port.
import { FAMILY_NAMES, STATE_SLOTS, TCP_STATES, TcpState, TIMER_SLOTS, TIMERS } from '../diag';
import type { Owners } from '../owners';
import type { TableScan } from '../scan/table-scan';
import { defineCollector, type MetricFamily, type MetricSample } from './collector';
import { gauge, histogramSamples } from './families';
import { boolean, integer } from './options';

const TIMER_LABELS = [...TIMERS, 'other'];
const UDP_STATES: [TcpState, string][] = [
  [TcpState.Established, 'established'],
  [TcpState.Close, 'close'],
];

function stateFamilies(scan: TableScan): MetricFamily {
  const values: MetricSample[] = [];
  for (const [f, family] of FAMILY_NAMES.entries()) {
    const offset = f * STATE_SLOTS;
    TCP_STATES.forEach((state, index) => {
      if (index === 0) return;
      const value = scan.totals.tcp.states[offset + index]!;
      values.push({ labels: { protocol: 'tcp', family, state }, value });
    });
    for (const [index, state] of UDP_STATES) {
      const value = scan.totals.udp.states[offset + index]!;
      values.push({ labels: { protocol: 'udp', family, state }, value });
    }
  }
  return {
    name: 'sockdiag_sockets',
    help: 'Sockets by protocol, family and state, from an inet_diag dump. Every state is present, zeros included. NEW_SYN_RECV request sockets count as syn_recv; UDP: established = connected, close = unconnected.',
    type: 'gauge',
    values,
  };
}

function queueFamilies(scan: TableScan): MetricFamily[] {
  const bytes = (pick: 'receiveQueueBytes' | 'sendQueueBytes') =>
    (['tcp', 'udp'] as const).map((protocol) => ({
      labels: { protocol },
      value: scan.totals[protocol][pick],
    }));
  return [
    {
      name: 'sockdiag_socket_receive_queue_bytes',
      help: "Bytes waiting to be read, summed over sockets that are not listening (TCP: unread bytes; UDP: receive buffer memory). A listener's accept queue is not bytes: see sockdiag_listener_accept_queue_length.",
      type: 'gauge',
      values: bytes('receiveQueueBytes'),
    },
    {
      name: 'sockdiag_socket_send_queue_bytes',
      help: "Bytes not yet acknowledged or sent, summed over sockets that are not listening. A listener's backlog limit is not bytes: see sockdiag_listener_accept_queue_limit.",
      type: 'gauge',
      values: bytes('sendQueueBytes'),
    },
  ];
}

function timerFamily(scan: TableScan): MetricFamily {
  const values: MetricSample[] = [];
  TCP_STATES.forEach((state, s) => {
    if (s === 0) return;
    TIMER_LABELS.forEach((timer, t) => {
      values.push({ labels: { state, timer }, value: scan.timers[s * TIMER_SLOTS + t]! });
    });
  });
  return {
    name: 'sockdiag_tcp_timer_sockets',
    help: 'TCP sockets by state and pending timer (idiag_timer): retransmit (RTO, loss probe, SYN-ACK), keepalive (also the FIN_WAIT2 timer), time_wait, zero_window_probe. ESTABLISHED with timer none and long idle = no keepalive.',
    type: 'gauge',
    values,
  };
}

function infoFamilies(scan: TableScan): MetricFamily[] {
  if (!scan.tcpInfoAvailable && scan.rtt.total === 0) return [];
  return [
    {
      name: 'sockdiag_tcp_rtt_seconds',
      help: 'Smoothed RTT (tcp_info tcpi_rtt) of ESTABLISHED TCP sockets, as a distribution over sockets at scrape time.',
      type: 'histogram',
      values: histogramSamples(scan.rtt, 'sockdiag_tcp_rtt_seconds', {}),
    },
    {
      name: 'sockdiag_tcp_idle_seconds',
      help: 'Time since ESTABLISHED TCP sockets last received data (tcp_info last_data_recv), split by whether a keepalive timer is armed. Long-idle sockets without keepalive may be ghosts whose peer is gone.',
      type: 'histogram',
      values: [
        ...histogramSamples(scan.idleWithKeepalive, 'sockdiag_tcp_idle_seconds', {
          keepalive: 'true',
        }),
        ...histogramSamples(scan.idleWithoutKeepalive, 'sockdiag_tcp_idle_seconds', {
          keepalive: 'false',
        }),
      ],
    },
    {
      name: 'sockdiag_tcp_retransmitted_sockets',
      help: 'ESTABLISHED TCP sockets that retransmitted at least once in their life (tcp_info total_retrans > 0).',
      type: 'gauge',
      values: [{ value: scan.retransmittedSockets }],
    },
  ];
}

function memoryFamilies(scan: TableScan): MetricFamily[] {
  const tcp = scan.totals.tcp;
  return [
    {
      name: 'sockdiag_tcp_retransmitting_sockets',
      help: 'ESTABLISHED TCP sockets with the retransmit timer armed and unrecovered retransmissions right now (idiag_retrans > 0).',
      type: 'gauge',
      values: [{ value: scan.retransmittingSockets }],
    },
    {
      name: 'sockdiag_socket_memory_bytes',
      help: 'Socket buffer memory summed over TCP sockets (skmeminfo): rmem_alloc = receive queue memory, wmem_queued = send queue memory.',
      type: 'gauge',
      values: [
        { labels: { protocol: 'tcp', kind: 'rmem_alloc' }, value: tcp.rmemAlloc },
        { labels: { protocol: 'tcp', kind: 'wmem_queued' }, value: tcp.wmemQueued },
      ],
    },
    {
      name: 'sockdiag_socket_drops',
      help: 'Packets dropped, summed over the per-socket drop counters (skmeminfo drops) of live TCP sockets. Not monotonic: sockets come and go.',
      type: 'gauge',
      values: [{ labels: { protocol: 'tcp' }, value: tcp.drops }],
    },
    {
      name: 'sockdiag_sockets_with_drops',
      help: 'Live TCP sockets whose drop counter (skmeminfo drops) is not zero.',
      type: 'gauge',
      values: [{ labels: { protocol: 'tcp' }, value: tcp.socketsWithDrops }],
    },
  ];
}

function serviceFamily(scan: TableScan, limit: number): MetricFamily {
  const ports = [...scan.listenerPorts].map((port) => {
    const states = scan.portStates(port);
    let total = 0;
    for (let s = 0; s < states.length; s++) if (s !== TcpState.Listen) total += states[s]!;
    return { port, states, total };
  });
  ports.sort((a, b) => b.total - a.total || a.port - b.port);
  const other = new Float64Array(STATE_SLOTS);
  const values: MetricSample[] = [];
  ports.forEach(({ port, states }, index) => {
    TCP_STATES.forEach((state, s) => {
      if (s === 0 || s === TcpState.Listen) return;
      if (index < limit) values.push({ labels: { port, state }, value: states[s]! });
      else other[s]! += states[s]!;
    });
  });
  if (ports.length > limit) {
    TCP_STATES.forEach((state, s) => {
      if (s !== 0 && s !== TcpState.Listen)
        values.push({ labels: { port: 'other', state }, value: other[s]! });
    });
  }
  return {
    name: 'sockdiag_service_sockets',
    help: 'TCP sockets per local port that has a listener (a service port), by state. The busiest ports up to --collector.sockets.ports-limit get their own series; the rest are summed into port="other".',
    type: 'gauge',
    values,
  };
}

function ephemeralFamilies(scan: TableScan): MetricFamily[] {
  const [low, high] = scan.ephemeralRange;
  const size = high - low + 1;
  const busiest = scan.peers.busiestTuple(false);
  // An unreadable ip_local_port_range is unknown: no size, no ratio (the
  // sysctl collector fails and says why), rather than the kernel default
  // presented as this host's.
  const known = scan.ephemeralRangeKnown;
  return [
    {
      name: 'sockdiag_ephemeral_port_range_size',
      help: 'Ports in net.ipv4.ip_local_port_range: how many connections one local address can have toward one remote address and port. Absent when the sysctl cannot be read.',
      type: 'gauge',
      values: known ? [{ value: size }] : [],
    },
    {
      name: 'sockdiag_ephemeral_ports_busiest_tuple_ports',
      help: 'Local ports from ip_local_port_range in use (any state but listen, TIME_WAIT included) toward the busiest (local address, remote address, remote port) tuple. The peers collector names the tuple.',
      type: 'gauge',
      values: [{ value: busiest.ports }],
    },
    {
      name: 'sockdiag_ephemeral_ports_busiest_tuple_ratio',
      help: 'sockdiag_ephemeral_ports_busiest_tuple_ports / sockdiag_ephemeral_port_range_size. Near 1, connects to that peer fail with EADDRNOTAVAIL or reuse TIME_WAIT ports (the SNAT reuse incident).',
      type: 'gauge',
      values: known ? [{ value: size > 0 ? busiest.ports / size : 0 }] : [],
    },
  ];
}

/**
 * TCP sockets per owning cgroup: the busiest `limit` by socket count, the
 * rest summed into cgroup="other"; sockets the kernel names no cgroup for
 * (TIME_WAIT, SYN_RECV, kernels before 5.8) are cgroup="none".
 */
async function cgroupFamily(
  scan: TableScan,
  owners: Owners,
  limit: number,
): Promise<MetricFamily[]> {
  const entries = [...scan.cgroupStates].map(([id, states]) => ({
    id,
    states,
    total: states.reduce((sum, n) => sum + n, 0),
  }));
  const named = entries.filter((e) => e.id !== 0).sort((a, b) => b.total - a.total || a.id - b.id);
  const shown = named.slice(0, limit);
  const resolved = await owners.cgroups(shown.map((e) => e.id));
  // A short pod/container name is used only where no other cgroup shares it.
  const labels = shown.map((e) => resolved.get(e.id)?.label ?? `id:${e.id}`);
  const rows: { label: string; states: Uint32Array }[] = shown.map((e, i) => ({
    label:
      labels.indexOf(labels[i]!) === labels.lastIndexOf(labels[i]!)
        ? labels[i]!
        : (resolved.get(e.id)?.path ?? `id:${e.id}`),
    states: e.states,
  }));
  const add = (label: string, list: typeof entries) => {
    if (list.length === 0) return;
    const states = new Uint32Array(STATE_SLOTS);
    for (const e of list) for (let s = 0; s < STATE_SLOTS; s++) states[s]! += e.states[s]!;
    rows.push({ label, states });
  };
  add('other', named.slice(limit));
  add(
    'none',
    entries.filter((e) => e.id === 0),
  );
  const values: MetricSample[] = [];
  for (const { label, states } of rows) {
    TCP_STATES.forEach((state, s) => {
      if (s !== 0) values.push({ labels: { cgroup: label, state }, value: states[s]! });
    });
  }
  return [
    {
      name: 'sockdiag_cgroup_sockets',
      help: 'TCP sockets per owning cgroup (INET_DIAG_CGROUP_ID) and state: the busiest --collector.sockets.cgroups-limit cgroups, the rest as cgroup="other"; cgroup="none" for sockets the kernel names no cgroup for (TIME_WAIT, SYN_RECV). A kubepods cgroup is named pod:<uid>/<container id>.',
      type: 'gauge',
      values,
    },
  ];
}

export const socketsCollector = defineCollector({
  name: 'sockets',
  help: 'The socket table via netlink inet_diag: states, queues, timers, RTT, idle time, memory, drops, service ports.',
  defaultEnabled: true,
  readsTable: true,
  options: {
    portsLimit: integer({
      help: 'Most service ports (ports with a listener) with their own sockdiag_service_sockets series; the rest are port="other".',
      default: 32,
      min: 0,
      max: 1000,
    }),
    tcpInfo: boolean({
      help: 'Ask the kernel for tcp_info (RTT and idle histograms, retransmissions). Costs about a third more kernel time per dump.',
      default: true,
    }),
    cgroupsLimit: integer({
      help: 'Most cgroups with their own sockdiag_cgroup_sockets series, the busiest by sockets; the rest are cgroup="other". 0 turns the per-cgroup counts off.',
      default: 32,
      min: 0,
      max: 1000,
    }),
    parallelDumps: integer({
      help: 'TCP dumps run at once, each over a share of the table split by port in the kernel: a shorter scrape for more CPU. 0 = auto: a single walk until one takes over 50 ms, then 2 parts once they shorten the walk by at least 20 % (a second CPU is free) and while they still shorten it by 10 %; 1 = always a single walk.',
      default: 0,
      min: 0,
      max: 8,
    }),
  },
  create({ portsLimit, cgroupsLimit }) {
    return {
      async collect({ sources }) {
        const scan = await sources.tableScan;
        const owners = sources.owners;
        const cgroups =
          owners && cgroupsLimit > 0 ? await cgroupFamily(scan, owners, cgroupsLimit) : [];
        return [
          stateFamilies(scan),
          ...queueFamilies(scan),
          timerFamily(scan),
          ...infoFamilies(scan),
          ...memoryFamilies(scan),
          serviceFamily(scan, portsLimit),
          ...ephemeralFamilies(scan),
          ...cgroups,
          gauge(
            'sockdiag_scan_sockets',
            'Rows this scrape dumped from the kernel (TCP and UDP, both families).',
            scan.rows,
          ),
          gauge(
            'sockdiag_scan_tcp_walk_parts',
            'Parts the TCP walk of this scrape ran in at once: 1 is one walk; more split it across CPUs (--collector.sockets.parallel-dumps), shorter while a CPU is free, dearer in CPU.',
            scan.partRows.length,
          ),
        ];
      },
    };
  },
});
