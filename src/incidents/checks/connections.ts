// Checks on what connections carry and how they end: receive-buffer
// collapse, possible ghosts, resets by kind, and churn weighed against harm.
import { GHOST_IDLE_BOUNDS } from '../../scan/facts';
import { CHURN_TIME_WAIT_PRESSURE, definition, RESET_KIND_COUNTERS } from '../definitions';
import type { Finding } from '../types';
import { closedLines } from './closed';
import {
  add,
  addRise,
  type Check,
  count,
  countersMissing,
  fire,
  heldBy,
  noOpinion,
  perSecond,
  rise,
  sysctl,
  windowSeconds,
} from './context';

/** What each counter that fires receive_buffer_collapse (definitions.ts) means. */
const COLLAPSE_MEANINGS: Readonly<Record<string, string>> = {
  'TcpExt.TCPRcvCollapsed': 'received data was collapsed into fewer buffers to fit',
  'TcpExt.RcvPruned': 'pruning could not free enough: received packets were dropped',
  'TcpExt.OfoPruned': 'out-of-order data was dropped to free memory',
  'TcpExt.TCPRcvQDrop': "a packet was dropped: the socket's receive memory could not grow",
};
const COLLAPSE_COUNTERS = definition('receive_buffer_collapse').counters.map(
  (key) => [key, COLLAPSE_MEANINGS[key] ?? 'received data was dropped for lack of buffer'] as const,
);

function side(port: { port: number; side: 'service' | 'client' }): string {
  return port.side === 'service' ? `service port ${port.port}` : `connections to port ${port.port}`;
}

const receiveBufferCollapse: Check = {
  incident: 'receive_buffer_collapse',
  run(context, finding) {
    const missing = countersMissing(context);
    const table = context.input.table;
    if (!missing) {
      for (const [key, meaning] of COLLAPSE_COUNTERS) {
        const value = addRise(context, finding, key);
        if (!value) continue;
        fire(finding, `${key} rose by ${value}: ${meaning}`);
        finding.details.push(`${key} +${value}: ${meaning}`);
      }
      const pruned = addRise(context, finding, 'TcpExt.PruneCalled');
      if (pruned && !finding.fired) {
        finding.details.push(
          `TcpExt.PruneCalled +${pruned} without collapsed, pruned or dropped data: autotuned receivers trimming their queues, no harm`,
        );
      }
    }
    if (table) {
      add(finding, 'sockets with drops', table.socketsWithDrops, 'sockets');
      add(finding, 'drops on live sockets', table.drops, 'packets');
      const before = context.previousTable?.drops;
      if (before !== undefined && table.drops > before && table.socketsWithDrops > 0) {
        fire(
          finding,
          `live sockets dropped ${table.drops - before} more packets since the last look`,
        );
      }
      if (finding.fired) {
        for (const port of table.dropPorts.slice(0, 5)) {
          finding.details.push(
            `${side(port)}: ${count(port.sockets, 'socket')} with drops (${port.drops} dropped)`,
          );
        }
      }
    }
    if (missing && !table) noOpinion(finding, missing);
    else if (missing && !finding.fired)
      noOpinion(finding, `no live socket dropped more; ${missing}`);
    const rmem = sysctl(context, 'net.ipv4.tcp_rmem.max');
    if (rmem !== undefined) add(finding, 'net.ipv4.tcp_rmem.max', rmem, 'bytes');
  },
};

function idleRange(index: number): string {
  const hours = (seconds: number) =>
    seconds >= 86400 ? `${seconds / 86400} d` : `${seconds / 3600} h`;
  const low = index === 0 ? null : GHOST_IDLE_BOUNDS[index - 1]!;
  const high = GHOST_IDLE_BOUNDS[index]!;
  if (high === Infinity) return `over ${hours(low!)}`;
  return low === null ? `up to ${hours(high)}` : `${hours(low)} to ${hours(high)}`;
}

const keepaliveGhosts: Check = {
  incident: 'keepalive_ghosts',
  run(context, finding) {
    const table = context.input.table;
    if (!table) {
      noOpinion(finding, context.input.tableError ?? 'needs the sockets collector');
      return;
    }
    if (!table.tcpInfoAvailable && table.established > 0) {
      noOpinion(finding, 'needs tcp_info (--collector.sockets.tcp-info) for idle times');
      return;
    }
    const threshold = context.thresholds.keepaliveIdle;
    const ghosts = table.idleWithoutKeepalive;
    add(finding, `established, no keepalive, idle > ${threshold} s`, ghosts, 'sockets');
    const keepalive = sysctl(context, 'net.ipv4.tcp_keepalive_time');
    if (keepalive !== undefined) add(finding, 'net.ipv4.tcp_keepalive_time', keepalive, 'seconds');
    if (ghosts === 0) return;
    fire(
      finding,
      `${count(ghosts, 'ESTABLISHED socket')} idle over ${threshold} s with no keepalive timer`,
    );
    let certain = 0;
    for (const port of table.ghostPorts.slice(0, 5)) {
      const dead = Math.max(port.withUnacked, port.withBackoff);
      certain += dead;
      const proof =
        dead > 0
          ? `; ${port.withUnacked} with unacknowledged data, ${port.withBackoff} backing off: those peers are not answering`
          : '';
      finding.details.push(
        `${side(port)}: ${count(port.sockets, 'socket')} from ${count(port.distinctPeers, 'peer')}${proof}`,
      );
    }
    const buckets = table.ghostIdle.map(([bound, sockets]) => {
      const index = GHOST_IDLE_BOUNDS.indexOf(bound);
      return `${idleRange(index)}: ${sockets}`;
    });
    if (buckets.length > 0) finding.details.push(`idle for ${buckets.join(', ')}`);
    finding.details.push(
      certain > 0
        ? `${certain} of them are certainly dead or unreachable (data sent, never acknowledged); the rest are possible ghosts: a live idle client looks the same`
        : 'these are possible ghosts: a live client that is idle looks the same; unacknowledged data or retransmission backoff would make it certain, and none shows',
    );
    if (table.ghostOwners && table.ghostOwners.length > 0) {
      finding.details.push(
        `held by ${table.ghostOwners.map((o) => `${o.owner} (${o.sockets})`).join(', ')}`,
      );
    }
    finding.details.push(...table.ghostExamples);
    add(finding, 'with unacknowledged data or backoff', certain, 'sockets');
  },
};

interface ResetKind {
  key: string;
  what: string;
  remedy: string;
}

/** What each kind of bad ending (definitions.ts names the counters) means, and its remedy. */
const RESET_KIND_TEXT: Readonly<Record<string, Omit<ResetKind, 'key'>>> = {
  'TcpExt.TCPAbortOnTimeout': {
    what: 'connections aborted after their retransmissions or keepalive probes ran out (dead peers, e.g. ghosts reaped by keepalive, or a path that drops)',
    remedy:
      'Find the peers that stopped answering (a path that drops, crashed clients); after turning keepalive on, a burst of these is the ghosts being closed.',
  },
  'TcpExt.TCPAbortOnData': {
    what: 'data arrived after this side closed, or it closed with SO_LINGER 0',
    remedy:
      'The application closes while data still arrives, or aborts with SO_LINGER 0: shut down writes and read until the peer closes, or stop the linger-0 close.',
  },
  'TcpExt.TCPAbortOnClose': {
    what: 'connections closed with unread data in the receive queue',
    remedy:
      'The application closes without reading all it received (a request body, a pipelined request): read or discard it before close().',
  },
  'TcpExt.TCPAbortOnMemory': {
    what: 'connections aborted because TCP memory or orphan sockets ran out',
    remedy:
      'TCP memory is exhausted: raise net.ipv4.tcp_mem or net.ipv4.tcp_max_orphans, or find what holds so much socket memory.',
  },
  'TcpExt.TCPAbortOnLinger': {
    what: 'connections aborted when their SO_LINGER or FIN_WAIT2 time ran out',
    remedy:
      'Peers do not finish closing within SO_LINGER or net.ipv4.tcp_fin_timeout: look at those peers or lengthen the timeout.',
  },
  'Tcp.AttemptFails': {
    what: 'handshakes given up: connects refused or timed out, SYN_RECV requests reset',
    remedy:
      'Connects fail: nothing listens at the target, a firewall rejects, or the peer resets half-open requests; check the targets this host connects to.',
  },
  'Tcp.EstabResets': {
    what: 'established connections reset (a RST received, or aborted here)',
    remedy:
      'Established connections are reset: find the peer or middlebox that sends RSTs (idle timeouts on a load balancer or NAT are the usual cause).',
  },
};
const RESET_KINDS: readonly ResetKind[] = RESET_KIND_COUNTERS.map((key) => ({
  key,
  ...(RESET_KIND_TEXT[key] ?? { what: key, remedy: 'Find who resets.' }),
}));

const resets: Check = {
  incident: 'resets',
  run(context, finding) {
    const missing = countersMissing(context);
    if (missing) {
      noOpinion(finding, missing);
      return;
    }
    const seconds = windowSeconds(context);
    const rates = RESET_KINDS.map((kind) => {
      const value = addRise(context, finding, kind.key);
      return { kind, rate: value === null ? 0 : value / seconds, value: value ?? 0 };
    });
    const sent = addRise(context, finding, 'Tcp.OutRsts') ?? 0;
    const sentRate = sent / seconds;
    const threshold = context.thresholds.resetsRate;
    // EstabResets is what an abort does to a connection: an abort kind that
    // explains half of it is the cause; otherwise the peers reset.
    const causes = rates.filter((r) => r.kind.key !== 'Tcp.EstabResets');
    const estab = rates.find((r) => r.kind.key === 'Tcp.EstabResets')!;
    const cause = [...causes].sort((a, b) => b.rate - a.rate)[0]!;
    const dominant = cause.rate * 2 >= estab.rate ? cause : estab;
    const kindsRate = rates.reduce((total, r) => total + r.rate, 0);
    add(finding, 'RSTs sent per second', sentRate, 'per second');
    add(finding, 'aborts and failures per second', kindsRate, 'per second');
    if (Math.max(sentRate, kindsRate) < threshold) return;
    if (dominant.rate > 0 && dominant.rate * 2 >= sentRate - kindsRate) {
      fire(finding, `${perSecond(dominant.rate)}/s ${dominant.kind.key}: ${dominant.kind.what}`);
      finding.remedy = dominant.kind.remedy;
    } else {
      fire(
        finding,
        `${perSecond(sentRate)} RSTs/s sent (Tcp.OutRsts), most not from aborts: answers to segments for no connection, such as connects to a port nothing listens on`,
      );
      finding.remedy =
        'Clients connect to a closed port or send on connections this host forgot (after a restart): find them and fix the target or the retry.';
    }
    for (const r of rates.filter((r) => r.value > 0).sort((a, b) => b.rate - a.rate)) {
      finding.details.push(`${r.kind.key}: ${perSecond(r.rate)}/s (${r.value}): ${r.kind.what}`);
    }
  },
};

/** Which harm the other checks found that makes churn matter. */
function harm(earlier: readonly Finding[], context: Parameters<Check['run']>[0]): string[] {
  const out: string[] = [];
  const fired = (name: string) => earlier.find((f) => f.incident === name && f.fired);
  if (fired('resets')) out.push('resets');
  if (fired('time_wait_reuse')) out.push('TIME_WAIT reuse');
  if (fired('ephemeral_port_exhaustion')) out.push('ephemeral port exhaustion');
  const limit = sysctl(context, 'net.ipv4.tcp_max_tw_buckets');
  const timeWait = context.input.table?.timeWait ?? 0;
  if (
    fired('time_wait_bucket_overflow') ||
    (limit && timeWait >= limit * CHURN_TIME_WAIT_PRESSURE)
  ) {
    out.push(`TIME_WAIT bucket pressure (${timeWait} of ${limit})`);
  }
  return out;
}

const connectionChurn: Check = {
  incident: 'connection_churn',
  runsLast: true,
  run(context, finding) {
    const missing = countersMissing(context);
    if (missing) {
      noOpinion(finding, missing);
      return;
    }
    const active = rise(context, 'Tcp.ActiveOpens') ?? 0;
    const passive = rise(context, 'Tcp.PassiveOpens') ?? 0;
    // The exporter's own scrapes are connections too: not the service's churn.
    const own = Math.min(context.input.ownConnections ?? 0, passive);
    add(finding, 'Tcp.ActiveOpens increase', active, 'events');
    add(finding, 'Tcp.PassiveOpens increase', passive, 'events');
    add(finding, "the exporter's own connections", own, 'events');
    const opens = (active + passive - own) / windowSeconds(context);
    const established =
      context.input.table?.established ?? context.input.netstat?.get('Tcp.CurrEstab') ?? 0;
    const ratio = opens / Math.max(established, 1);
    add(finding, 'connections opened per second', opens, 'per second');
    add(finding, 'established connections', established, 'sockets');
    add(finding, 'opens per second per established connection', ratio, 'ratio');
    const closed = context.input.closed;
    if (closed) add(finding, 'connections closed per second', closed.perSecond, 'per second');
    const th = context.thresholds;
    if (opens < th.churnMinOpens || ratio < th.churnRatio) return;
    const ownPorts = new Set(context.input.ownPorts ?? []);
    const ports = (context.input.table?.timeWaitPorts ?? []).filter((p) => !ownPorts.has(p.port));
    const damage = harm(context.earlier, context);
    const summary = `${perSecond(opens)} connections opened per second against ${count(established, 'established connection')}`;
    if (damage.length > 0) {
      fire(finding, `${summary}, with ${damage.join(', ')}`);
    } else {
      finding.notice = true;
      finding.cause = `${summary}: informational, no harm seen (no resets, TIME_WAIT reuse, port exhaustion or TIME_WAIT pressure)`;
    }
    for (const port of ports.slice(0, 5)) {
      finding.details.push(
        `service port ${port.port}${heldBy(port.owner)}: ${count(port.serverSide + port.clientSide, 'TIME_WAIT socket')}`,
      );
    }
    // What the connections carried, from their destroy events (the closed collector).
    finding.details.push(...closedLines(context.input));
  },
};

export const CONNECTION_CHECKS = {
  receiveBufferCollapse,
  keepaliveGhosts,
  resets,
  connectionChurn,
};
