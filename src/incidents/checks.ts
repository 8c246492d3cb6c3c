// The incident checks, in the order an operator should act on them. Each
// returns a Finding with its evidence and a one-sentence remedy. Checks that
// need a counter's rate have no opinion until a previous sample exists.
import type { Evidence, Finding, IncidentInput, Thresholds } from './types';

export interface Sample {
  now: number;
  netstat: Map<string, number> | null;
  /** Listener drop counters by "family|address|port". */
  listenerDrops: Map<string, number>;
}

export interface CheckContext {
  input: IncidentInput;
  previous: Sample | null;
  thresholds: Thresholds;
}

export interface CheckDefinition {
  incident: string;
  title: string;
  remedy: string;
  run(context: CheckContext, finding: Finding): void;
}

/** Counter increase since the previous sample; null without one. A reset counts from 0. */
export function delta(context: CheckContext, key: string): number | null {
  const now = context.input.netstat?.get(key);
  const before = context.previous?.netstat?.get(key);
  if (now === undefined || before === undefined) return null;
  return now >= before ? now - before : now;
}

function elapsedSeconds(context: CheckContext): number {
  return context.previous ? Math.max((context.input.now - context.previous.now) / 1000, 0.001) : 0;
}

function sysctl(context: CheckContext, name: string): number | undefined {
  return context.input.sysctl?.get(name);
}

function add(finding: Finding, name: string, value: number, unit: string): Evidence {
  const evidence = { name, value, unit };
  finding.evidence.push(evidence);
  return evidence;
}

function noOpinion(finding: Finding, reason: string): void {
  finding.evaluated = false;
  finding.reason = reason;
}

const FIRST_SAMPLE = 'needs two samples to compute a rate: no opinion on the first scrape';

const NO_COUNTERS = 'needs /proc/net/netstat and /proc/net/snmp, unreadable on this scrape';

/** Why counter rises cannot be computed now (no counters, or no previous sample), else null. */
function countersMissing(context: CheckContext): string | null {
  if (!context.input.netstat) return NO_COUNTERS;
  if (!context.previous?.netstat) return FIRST_SAMPLE;
  return null;
}

/**
 * Adds the rises of the given counters as evidence and fires when any rose.
 * Returns why it could not (the caller decides whether that means no opinion).
 */
function counterRises(context: CheckContext, finding: Finding, keys: string[]): string | null {
  const missing = countersMissing(context);
  if (missing) return missing;
  for (const key of keys) {
    const rise = delta(context, key);
    if (rise === null) continue; // this kernel lacks the field
    add(finding, `${key} increase`, rise, 'events');
    if (rise > 0) finding.fired = true;
  }
  return null;
}

/** The key of a listener's drop counter in a Sample. */
export function listenerKey(l: { family: string; address: string; port: number }): string {
  return `${l.family}|${l.address}|${l.port}`;
}

function endpoint(l: { family: string; address: string; port: number }): string {
  return l.family === 'inet6' ? `[${l.address}]:${l.port}` : `${l.address}:${l.port}`;
}

export const CHECKS: CheckDefinition[] = [
  {
    incident: 'accept_queue_overflow',
    title: 'Accept queue overflow: completed handshakes are dropped at a listener',
    remedy:
      'Make the application accept() faster (more workers, a non-blocked event loop) and raise its listen() backlog together with net.core.somaxconn.',
    run(context, finding) {
      // Fires on a full accept queue now, or on ListenOverflows (the accept
      // queue's own counter). ListenDrops and the listeners' drop counters
      // also count SYN-queue drops (tcp_conn_request's drop path), missing
      // routes and memory failures: they are evidence here, not a trigger,
      // so a SYN flood without cookies does not point at accept().
      const listeners = context.input.listeners;
      let full = 0;
      let listenerDrops = 0;
      for (const l of listeners ?? []) {
        if (l.acceptQueueLimit > 0 && l.acceptQueue >= l.acceptQueueLimit) {
          full++;
          finding.fired = true;
          finding.details.push(
            `${endpoint(l)}: accept queue ${l.acceptQueue} of ${l.acceptQueueLimit} (full)`,
          );
        }
        const before = context.previous?.listenerDrops.get(listenerKey(l));
        if (before !== undefined && l.drops > before) {
          listenerDrops += l.drops - before;
          finding.details.push(`${endpoint(l)}: ${l.drops - before} drops since the last sample`);
        }
      }
      if (listeners) add(finding, 'listeners with a full accept queue', full, 'listeners');
      const missing = counterRises(context, finding, ['TcpExt.ListenOverflows']);
      if (!missing) {
        const drops = delta(context, 'TcpExt.ListenDrops');
        if (drops !== null) add(finding, 'TcpExt.ListenDrops increase', drops, 'events');
        if (listeners && context.previous) {
          add(finding, 'listener drops increase', listenerDrops, 'events');
        }
      } else if (!finding.fired) {
        noOpinion(
          finding,
          listeners
            ? `no listener is full now; ListenOverflows: ${missing}`
            : `needs the listener dump; ListenOverflows: ${missing}`,
        );
      }
      const somaxconn = sysctl(context, 'net.core.somaxconn');
      if (somaxconn !== undefined) add(finding, 'net.core.somaxconn', somaxconn, 'connections');
    },
  },
  {
    incident: 'syn_queue_overflow',
    title: 'SYN queue overflow: half-open connections are dropped',
    remedy:
      'Raise net.ipv4.tcp_max_syn_backlog, keep net.ipv4.tcp_syncookies=1, and check for a SYN flood or clients that never complete handshakes.',
    run(context, finding) {
      // Since Linux 4.4 a listener's SYN queue is full when its half-open
      // count exceeds the listen() backlog (sk_max_ack_backlog, the
      // listener's Send-Q); without SYN cookies, SYNs are also dropped once
      // it passes 3/4 of tcp_max_syn_backlog. Full with cookies on means
      // cookies (see syn_cookies); full with them off means drops.
      const maxSynBacklog = sysctl(context, 'net.ipv4.tcp_max_syn_backlog');
      const cookies = sysctl(context, 'net.ipv4.tcp_syncookies');
      if (maxSynBacklog !== undefined) {
        add(finding, 'net.ipv4.tcp_max_syn_backlog', maxSynBacklog, 'requests');
      }
      let busiest = 0;
      let busiestLimit = 0;
      for (const l of context.input.listeners ?? []) {
        if (l.halfOpen === undefined) continue;
        let limit = l.acceptQueueLimit;
        if (cookies === 0 && maxSynBacklog) {
          limit = Math.min(limit, maxSynBacklog - (maxSynBacklog >> 2));
        }
        if (l.halfOpen > busiest) {
          busiest = l.halfOpen;
          busiestLimit = limit;
        }
        if (l.halfOpen > 0 && l.halfOpen >= limit * context.thresholds.synBacklogRatio) {
          finding.fired = true;
          finding.details.push(
            `${endpoint(l)}: ${l.halfOpen} half-open (SYN_RECV), SYN queue limit ${limit} (listen backlog ${l.acceptQueueLimit})`,
          );
        }
      }
      if (context.input.listeners) {
        add(finding, 'most half-open sockets at one listener', busiest, 'sockets');
        add(finding, 'SYN queue limit of that listener', busiestLimit, 'requests');
      }
      const missing = counterRises(context, finding, ['TcpExt.TCPReqQFullDrop']);
      if (missing && !finding.fired) noOpinion(finding, missing);
      // Full queues answered with cookies instead of drops: shown, not fired on.
      const cookied = missing ? null : delta(context, 'TcpExt.TCPReqQFullDoCookies');
      if (cookied !== null) add(finding, 'TcpExt.TCPReqQFullDoCookies increase', cookied, 'events');
    },
  },
  {
    incident: 'time_wait_bucket_overflow',
    title: 'TIME_WAIT bucket overflow: closing sockets skip TIME_WAIT',
    remedy:
      'Reuse connections (keep-alive, pooling) instead of opening one per request, or raise net.ipv4.tcp_max_tw_buckets.',
    run(context, finding) {
      const limit = sysctl(context, 'net.ipv4.tcp_max_tw_buckets');
      const timeWait = context.input.table?.timeWait;
      if (limit !== undefined) add(finding, 'net.ipv4.tcp_max_tw_buckets', limit, 'sockets');
      if (timeWait !== undefined) {
        add(finding, 'time_wait sockets', timeWait, 'sockets');
        if (limit && timeWait >= limit * context.thresholds.twBucketsRatio) {
          finding.fired = true;
          finding.details.push(`${timeWait} TIME_WAIT sockets, limit ${limit}`);
        }
      }
      const missing = counterRises(context, finding, ['TcpExt.TCPTimeWaitOverflow']);
      if (missing && !finding.fired && timeWait === undefined) noOpinion(finding, missing);
    },
  },
  {
    incident: 'ephemeral_port_exhaustion',
    title: 'Ephemeral port exhaustion toward one peer',
    remedy:
      'Reuse connections to that peer, add local source addresses or peer addresses, or widen net.ipv4.ip_local_port_range.',
    run(context, finding) {
      const table = context.input.table;
      if (!table) {
        noOpinion(finding, 'needs the sockets collector');
        return;
      }
      const ratio =
        table.ephemeralRangeSize > 0 ? table.busiestTuplePorts / table.ephemeralRangeSize : 0;
      add(finding, 'ports used toward the busiest peer', table.busiestTuplePorts, 'ports');
      add(finding, 'ip_local_port_range size', table.ephemeralRangeSize, 'ports');
      add(finding, 'ratio', ratio, 'ratio');
      if (ratio >= context.thresholds.ephemeralRatio) {
        finding.fired = true;
        finding.details.push(
          `${table.busiestTuplePorts} of ${table.ephemeralRangeSize} ephemeral ports in use toward one (local address, peer, peer port)`,
        );
      }
    },
  },
  {
    incident: 'syn_cookies',
    title: 'SYN cookies are being sent',
    remedy:
      'SYN cookies mean the SYN queue overflowed (or tcp_syncookies=2): raise net.ipv4.tcp_max_syn_backlog and the listen() backlog, or look for a SYN flood.',
    run(context, finding) {
      const missing = counterRises(context, finding, [
        'TcpExt.SyncookiesSent',
        'TcpExt.SyncookiesFailed',
      ]);
      if (missing) noOpinion(finding, missing);
      const mode = sysctl(context, 'net.ipv4.tcp_syncookies');
      if (mode !== undefined) add(finding, 'net.ipv4.tcp_syncookies', mode, 'setting');
    },
  },
  {
    incident: 'paws_rejects',
    title: 'PAWS rejects: segments dropped by the TCP timestamp check',
    remedy:
      'Clients behind one NAT with different timestamp clocks collide: do not enable tcp_tw_recycle (gone since 4.12), check tcp_tw_reuse and the NAT, and keep net.ipv4.tcp_timestamps consistent.',
    run(context, finding) {
      const keys = [
        'TcpExt.PAWSActive',
        'TcpExt.PAWSEstab',
        'TcpExt.PAWSTimewait',
        'TcpExt.PAWSOldAck',
        'TcpExt.TCPACKSkippedPAWS',
        'TcpExt.PAWSPassive',
      ].filter((key) => context.input.netstat?.has(key));
      const missing = counterRises(context, finding, keys);
      if (missing) noOpinion(finding, missing);
      for (const name of [
        'net.ipv4.tcp_timestamps',
        'net.ipv4.tcp_tw_reuse',
        'net.ipv4.tcp_tw_recycle',
      ]) {
        const value = sysctl(context, name);
        if (value !== undefined) add(finding, name, value, 'setting');
      }
      if (sysctl(context, 'net.ipv4.tcp_tw_recycle') === undefined) {
        finding.details.push(
          'net.ipv4.tcp_tw_recycle does not exist on this kernel (removed in Linux 4.12)',
        );
      }
    },
  },
  {
    incident: 'receive_buffer_collapse',
    title: 'Receive buffer collapse: packets collapsed, pruned or dropped for lack of buffer',
    remedy:
      'The receivers read too slowly or their buffers are too small: make them read faster, or raise SO_RCVBUF / net.ipv4.tcp_rmem.',
    run(context, finding) {
      const missing = counterRises(context, finding, [
        'TcpExt.TCPRcvCollapsed',
        'TcpExt.PruneCalled',
        'TcpExt.RcvPruned',
        'TcpExt.TCPRcvQDrop',
      ]);
      if (missing) noOpinion(finding, missing);
      const table = context.input.table;
      if (table) {
        add(finding, 'sockets with drops', table.socketsWithDrops, 'sockets');
        add(finding, 'drops on live sockets', table.drops, 'packets');
      }
    },
  },
  {
    incident: 'keepalive_ghosts',
    title: 'Idle ESTABLISHED connections without keepalive (possible ghosts)',
    remedy:
      'Enable SO_KEEPALIVE (and tune net.ipv4.tcp_keepalive_time) or application-level timeouts, so connections whose peer vanished are closed.',
    run(context, finding) {
      const table = context.input.table;
      if (!table?.tcpInfoAvailable) {
        if (!table || table.established > 0) {
          noOpinion(finding, 'needs the sockets collector with tcp_info (idle times)');
          return;
        }
      }
      const count = table?.idleWithoutKeepalive ?? 0;
      add(
        finding,
        `established, no keepalive, idle > ${context.thresholds.keepaliveIdle} s`,
        count,
        'sockets',
      );
      if (count > 0) {
        finding.fired = true;
        finding.details.push(...(table?.ghostExamples ?? []));
      }
      const keepalive = sysctl(context, 'net.ipv4.tcp_keepalive_time');
      if (keepalive !== undefined)
        add(finding, 'net.ipv4.tcp_keepalive_time', keepalive, 'seconds');
    },
  },
  {
    incident: 'connection_churn',
    title: 'Connection churn: connections are opened and closed instead of reused',
    remedy:
      'Reuse connections (HTTP keep-alive, connection pools); the busiest TIME_WAIT service ports show which clients open one connection per request.',
    run(context, finding) {
      const missing = countersMissing(context);
      if (missing) {
        noOpinion(finding, missing);
        return;
      }
      const active = delta(context, 'Tcp.ActiveOpens') ?? 0;
      const passive = delta(context, 'Tcp.PassiveOpens') ?? 0;
      add(finding, 'Tcp.ActiveOpens increase', active, 'events');
      add(finding, 'Tcp.PassiveOpens increase', passive, 'events');
      const perSecond = (active + passive) / elapsedSeconds(context);
      const established =
        context.input.table?.established ?? context.input.netstat?.get('Tcp.CurrEstab') ?? 0;
      const ratio = perSecond / Math.max(established, 1);
      add(finding, 'connections opened per second', perSecond, 'per second');
      add(finding, 'established connections', established, 'sockets');
      add(finding, 'opens per second per established connection', ratio, 'ratio');
      if (perSecond >= context.thresholds.churnMinOpens && ratio >= context.thresholds.churnRatio) {
        finding.fired = true;
        for (const [port, count] of context.input.table?.timeWaitByServicePort ?? []) {
          finding.details.push(`service port ${port}: ${count} TIME_WAIT sockets`);
        }
      }
    },
  },
  {
    incident: 'resets',
    title: 'Connection resets and failed connection attempts',
    remedy:
      'Find who resets: peers closing with unread data, firewalls, crashed backends, or timeouts; RSTs to a listener with a full queue point at accept_queue_overflow.',
    run(context, finding) {
      const missing = countersMissing(context);
      if (missing) {
        noOpinion(finding, missing);
        return;
      }
      const seconds = elapsedSeconds(context);
      for (const key of ['Tcp.OutRsts', 'Tcp.EstabResets', 'Tcp.AttemptFails']) {
        const rise = delta(context, key);
        if (rise === null) continue;
        add(finding, `${key} increase`, rise, 'events');
        const perSecond = rise / seconds;
        add(finding, `${key} per second`, perSecond, 'per second');
        if (perSecond >= context.thresholds.resetsRate) {
          finding.fired = true;
          finding.details.push(`${key}: ${perSecond.toFixed(1)}/s`);
        }
      }
    },
  },
];
