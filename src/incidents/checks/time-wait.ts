// TIME_WAIT checks: the bucket limit, ports toward one peer, one peer's
// small port pool cycling through this server's TIME_WAIT sockets (SNAT
// reuse), and PAWS rejects.
import { definition } from '../definitions';
import type { TimeWaitPort } from '../types';
import { closedLineFor } from './closed';
import {
  add,
  addRise,
  type Check,
  type CheckContext,
  count,
  countersMissing,
  fire,
  heldBy,
  noOpinion,
  rise,
  sysctl,
} from './context';

/** TCP_TIMEWAIT_LEN: a Linux TIME_WAIT socket lives 60 s, whatever the settings. */
export const TIME_WAIT_SECONDS = 60;

const timeWaitBucketOverflow: Check = {
  incident: 'time_wait_bucket_overflow',
  run(context, finding) {
    const limit = sysctl(context, 'net.ipv4.tcp_max_tw_buckets');
    const timeWait = context.input.table?.timeWait;
    if (limit !== undefined) add(finding, 'net.ipv4.tcp_max_tw_buckets', limit, 'sockets');
    if (timeWait !== undefined) {
      add(finding, 'time_wait sockets', timeWait, 'sockets');
      if (limit && timeWait >= limit * context.thresholds.twBucketsRatio) {
        fire(finding, `${timeWait} TIME_WAIT sockets against a limit of ${limit}`);
      }
    }
    const missing = countersMissing(context);
    if (!missing) {
      const overflows = addRise(context, finding, 'TcpExt.TCPTimeWaitOverflow') ?? 0;
      if (overflows > 0) {
        fire(
          finding,
          `TcpExt.TCPTimeWaitOverflow rose by ${overflows}: closing sockets skipped TIME_WAIT`,
        );
      }
    } else if (!finding.fired && timeWait === undefined) {
      noOpinion(finding, `needs the socket table or the counters; ${missing}`);
    }
    for (const p of context.input.table?.timeWaitPorts.slice(0, 3) ?? []) {
      if (finding.fired) {
        finding.details.push(
          `service port ${p.port}${heldBy(p.owner)}: ${count(p.serverSide + p.clientSide, 'TIME_WAIT socket')}`,
        );
      }
    }
  },
};

const ephemeralPortExhaustion: Check = {
  incident: 'ephemeral_port_exhaustion',
  run(context, finding) {
    const table = context.input.table;
    if (!table) {
      noOpinion(finding, context.input.tableError ?? 'needs the sockets collector');
      return;
    }
    const size = table.ephemeralRangeSize;
    if (size === 0) {
      noOpinion(finding, 'net.ipv4.ip_local_port_range could not be read: the range is unknown');
      return;
    }
    const ratio = size > 0 ? table.busiestTuplePorts / size : 0;
    add(finding, 'ports used toward the busiest peer', table.busiestTuplePorts, 'ports');
    add(finding, 'ip_local_port_range size', size, 'ports');
    add(finding, 'ratio', ratio, 'ratio');
    if (size > 0 && ratio >= context.thresholds.ephemeralRatio) {
      fire(
        finding,
        `${table.busiestTuplePorts} of ${size} ephemeral ports in use toward one (local address, peer, peer port)`,
      );
    }
  },
};

interface ReuseShape {
  port: TimeWaitPort;
  share: number;
  span: number;
  density: number;
  /** Seconds since the oldest of the peer's TIME_WAIT sockets was made. */
  cycle: number;
  /** The peer's connections per second, from how many TIME_WAIT sockets that cycle holds. */
  rate: number;
  pressure: number;
}

/** The service ports whose TIME_WAIT sockets have the shape of one peer's small, cycling pool. */
function reuseShapes(context: CheckContext): ReuseShape[] {
  const th = context.thresholds;
  const shapes: ReuseShape[] = [];
  for (const port of context.input.table?.timeWaitPorts ?? []) {
    const top = port.topPeer;
    if (!top || port.serverSide < th.twReuseMinSockets) continue;
    const share = top.sockets / port.serverSide;
    const span = top.highestPort - top.lowestPort + 1;
    const density = top.sockets / span;
    const cycle = Math.max(TIME_WAIT_SECONDS - top.soonestExpiryMs / 1000, 1);
    const rate = top.sockets / cycle;
    const pressure = (rate * TIME_WAIT_SECONDS) / span;
    if (share < th.twReuseConcentration || density < th.twReuseDensity) continue;
    if (pressure < th.twReusePressure) continue;
    shapes.push({ port, share, span, density, cycle, rate, pressure });
  }
  return shapes;
}

/**
 * A client that is still ramping up with a narrow or sequential port
 * allocator looks like a pool for a while; a pool's span stops growing.
 */
function spanGrew(context: CheckContext, shape: ReuseShape): boolean | null {
  const before = context.previousTable?.timeWaitPorts.find((p) => p.port === shape.port.port);
  const at = context.previousTableAt;
  if (!before?.topPeer || at === null) return null;
  const seconds = (context.input.now - at) / 1000;
  const previousSpan = before.topPeer.highestPort - before.topPeer.lowestPort + 1;
  // Unbounded, the span would have grown by the connections made since.
  const expected = shape.rate * seconds;
  if (expected < Math.max(4, previousSpan * 0.1)) return null; // too soon to tell
  return shape.span - previousSpan > Math.max(2, expected / 2);
}

function harmLine(context: CheckContext, shape: ReuseShape): string {
  const { withTimestamps, withoutTimestamps } = shape.port;
  const paws = rise(context, 'TcpExt.PAWSTimewait') ?? 0;
  const stale =
    'a SYN that lands on a TIME_WAIT socket with a lower sequence number is answered with a stale ACK, and the client resets (about half of them)';
  if (
    sysctl(context, 'net.ipv4.tcp_timestamps') === 0 ||
    (withoutTimestamps > 0 && withTimestamps === 0)
  ) {
    return `its connections carry no TCP timestamps: ${stale}`;
  }
  if (withTimestamps > 0 || paws > 0) {
    return `its connections carry TCP timestamps from different clients behind it: SYNs with an older timestamp are dropped by PAWS at the TIME_WAIT socket${paws > 0 ? ` (TcpExt.PAWSTimewait +${paws})` : ''}`;
  }
  // Reused ports with timestamps meet PAWS at the TIME_WAIT socket: none
  // counted while ports come back means its SYNs carry none.
  return `its reused ports drew no PAWS rejects, so its SYNs carry no TCP timestamps: ${stale}`;
}

const timeWaitReuse: Check = {
  incident: 'time_wait_reuse',
  run(context, finding) {
    const table = context.input.table;
    if (!table) {
      noOpinion(finding, context.input.tableError ?? 'needs the sockets collector');
      return;
    }
    let unsure: string | null = null;
    let worst = 0;
    for (const shape of reuseShapes(context)) {
      const grew = spanGrew(context, shape);
      if (grew === true) continue;
      if (grew === null) {
        unsure ??= `service port ${shape.port.port} looks like one peer's port pool; it needs a second look at the table, a few seconds later, to tell a fixed pool from a client still opening new ports`;
        continue;
      }
      const top = shape.port.topPeer!;
      const peer = top.address ? `peer ${top.address}` : 'one peer';
      fire(
        finding,
        `service port ${shape.port.port}: ${peer} cycles a pool of ${shape.span} source ports through TIME_WAIT`,
      );
      finding.details.push(
        `service port ${shape.port.port}${heldBy(shape.port.owner)}: ${Math.round(shape.share * 100)}% of its ${count(shape.port.serverSide, 'TIME_WAIT socket')} belong to ${peer}, whose source ports fill ${top.sockets} of ${shape.span} (${top.lowestPort}-${top.highestPort}); the oldest is ${Math.round(shape.cycle)} s old against a TIME_WAIT of ${TIME_WAIT_SECONDS} s, so each port comes back about every ${Math.max(1, Math.round(shape.span / shape.rate))} s: new SYNs land on TIME_WAIT sockets`,
        `service port ${shape.port.port}: ${harmLine(context, shape)}`,
      );
      const carried = closedLineFor(context.input, shape.port.port);
      if (carried) finding.details.push(carried);
      if (shape.pressure > worst) {
        worst = shape.pressure;
        finding.evidence = [];
        add(finding, 'share of the port TIME_WAIT from one peer', shape.share, 'ratio');
        add(finding, 'source ports of that peer', shape.span, 'ports');
        add(finding, 'TIME_WAIT sockets of that peer', top.sockets, 'sockets');
        add(finding, 'connections per second from that peer', shape.rate, 'per second');
        add(finding, 'connections per TIME_WAIT lifetime per port', shape.pressure, 'ratio');
      }
    }
    if (!finding.fired && unsure) noOpinion(finding, unsure);
    const timestamps = sysctl(context, 'net.ipv4.tcp_timestamps');
    if (finding.fired && timestamps !== undefined) {
      add(finding, 'net.ipv4.tcp_timestamps', timestamps, 'setting');
    }
  },
};

/** What each PAWS counter means on a current kernel, and the settings that matter to it. */
const PAWS_COUNTERS: readonly [string, string, string[]][] = [
  [
    'TcpExt.PAWSTimewait',
    "SYNs reaching TIME_WAIT sockets with an older timestamp than the last connection on that 4-tuple were dropped: clients behind one NAT, each with its own timestamp clock, reuse the 4-tuples of this server's TIME_WAIT sockets",
    ['net.ipv4.tcp_timestamps'],
  ],
  [
    'TcpExt.PAWSEstab',
    'segments on established connections carried timestamps older than the last ones seen: a middlebox rewriting or reordering timestamps, or (before 6.16) TIME_WAIT rejects',
    ['net.ipv4.tcp_timestamps'],
  ],
  [
    'TcpExt.PAWSActive',
    "SYN-ACKs answering this host's own connects carried old timestamps: its outgoing connections reuse 4-tuples a server behind NAT still remembers",
    ['net.ipv4.tcp_timestamps', 'net.ipv4.tcp_tw_reuse'],
  ],
  [
    'TcpExt.PAWSOldAck',
    'old ACKs were dropped by the timestamp check',
    ['net.ipv4.tcp_timestamps'],
  ],
  ['TcpExt.TCPACKSkippedPAWS', 'answers to PAWS-rejected segments were rate-limited', []],
  [
    'TcpExt.PAWSPassive',
    "SYNs were rejected by tcp_tw_recycle's per-peer timestamp check: clients behind NAT cannot connect (kernels before 4.12)",
    ['net.ipv4.tcp_tw_recycle', 'net.ipv4.tcp_timestamps'],
  ],
];

/** The counters whose rise fires paws_rejects; the others are evidence. */
const PAWS_FIRING = new Set(definition('paws_rejects').counters);

const pawsRejects: Check = {
  incident: 'paws_rejects',
  run(context, finding) {
    const missing = countersMissing(context);
    if (missing) {
      noOpinion(finding, missing);
      return;
    }
    const settings = new Set<string>();
    let biggest = 0;
    for (const [key, meaning, relevant] of PAWS_COUNTERS) {
      const value = addRise(context, finding, key);
      if (!value) continue;
      finding.details.push(`${key} +${value}: ${meaning}`);
      if (!PAWS_FIRING.has(key)) continue;
      for (const name of relevant) settings.add(name);
      if (value > biggest) {
        biggest = value;
        finding.fired = true;
        finding.cause = `${key} rose by ${value}`;
      }
    }
    if (!finding.fired) return;
    if (finding.cause?.startsWith('TcpExt.PAWSTimewait')) {
      const port = [...(context.input.table?.timeWaitPorts ?? [])].sort(
        (a, b) => (b.topPeer?.sockets ?? 0) - (a.topPeer?.sockets ?? 0),
      )[0];
      if (port?.topPeer) {
        const peer = port.topPeer.address ? `peer ${port.topPeer.address}` : 'one peer';
        finding.details.push(
          `service port ${port.port}${heldBy(port.owner)}: ${port.topPeer.sockets} of its ${port.serverSide} server-side TIME_WAIT sockets belong to ${peer}`,
        );
      }
    }
    for (const name of settings) {
      const value = sysctl(context, name);
      if (value !== undefined) add(finding, name, value, 'setting');
      else if (name === 'net.ipv4.tcp_tw_recycle')
        finding.details.push(
          'net.ipv4.tcp_tw_recycle does not exist on this kernel (removed in Linux 4.12)',
        );
    }
  },
};

export const TIME_WAIT_CHECKS: readonly Check[] = [
  timeWaitBucketOverflow,
  ephemeralPortExhaustion,
  timeWaitReuse,
];
export const PAWS_CHECK = pawsRejects;
