// Listener checks: the accept queue, the SYN queue and SYN cookies. Each
// names the listener, the limit that binds it and which setting raises it.
import { keyOf } from '../../scan/endpoint';
import type { Listener } from '../../scan/listeners';
import {
  add,
  addRise,
  type Check,
  type CheckContext,
  count,
  countersMissing,
  fire,
  listenerDropsRise,
  noOpinion,
  sysctl,
  where,
} from './context';

/** Why two drop counters can disagree, said once wherever both are shown. */
export const DROP_COUNTERS_EXPLAINED =
  "a listener's own drop counter counts every packet that listener dropped (accept-queue overflows, SYN-queue drops, memory and routing failures); TcpExt.ListenOverflows counts only full accept queues and TcpExt.ListenDrops every listen drop, both host-wide";

/** Which setting bounds a listener's accept queue: the listen() backlog, or somaxconn. */
function acceptBound(listener: Listener, somaxconn: number | undefined): string {
  if (somaxconn !== undefined && listener.acceptQueueLimit >= somaxconn * listener.sockets) {
    return `net.core.somaxconn (${somaxconn}) caps it`;
  }
  return `the application's listen() backlog sets it${somaxconn === undefined ? '' : ` (net.core.somaxconn is ${somaxconn})`}`;
}

const acceptQueueOverflow: Check = {
  incident: 'accept_queue_overflow',
  run(context, finding) {
    const listeners = context.input.listeners;
    const somaxconn = sysctl(context, 'net.core.somaxconn');
    let full = 0;
    let dropsRise = 0;
    let dropsKnown = false;
    for (const l of listeners ?? []) {
      if (l.acceptQueueLimit > 0 && l.acceptQueue >= l.acceptQueueLimit) {
        full++;
        fire(finding, `${where(l)} has a full accept queue`);
        finding.details.push(
          `${where(l)}: accept queue ${l.acceptQueue} of ${l.acceptQueueLimit} (full); the limit is min(listen() backlog, net.core.somaxconn): ${acceptBound(l, somaxconn)}`,
        );
      }
      const rose = listenerDropsRise(context, keyOf(l), l.drops);
      if (rose === null) continue;
      dropsKnown = true;
      dropsRise += rose;
      if (rose > 0) finding.details.push(`${where(l)}: ${count(rose, 'drop')} in the window`);
    }
    if (listeners) add(finding, 'listeners with a full accept queue', full, 'listeners');
    const missing = countersMissing(context);
    if (missing) {
      if (!finding.fired) {
        noOpinion(
          finding,
          listeners ? `no listener is full now; ${missing}` : `no listener dump; ${missing}`,
        );
      }
    } else {
      const overflows = addRise(context, finding, 'TcpExt.ListenOverflows') ?? 0;
      const listenDrops = addRise(context, finding, 'TcpExt.ListenDrops');
      if (dropsKnown) add(finding, 'listener drops increase', dropsRise, 'packets');
      if (overflows > 0) {
        fire(
          finding,
          `TcpExt.ListenOverflows rose by ${overflows}: SYNs or handshakes found an accept queue full`,
        );
      }
      if (finding.fired && (dropsRise > 0 || (listenDrops ?? 0) > overflows)) {
        finding.details.push(`two drop counters: ${DROP_COUNTERS_EXPLAINED}`);
      }
    }
    if (somaxconn !== undefined) add(finding, 'net.core.somaxconn', somaxconn, 'connections');
  },
};

interface SynLimit {
  limit: number;
  bound: string;
  raise: string;
}

/**
 * The SYN-queue limit the kernel enforces on a listener (tcp_conn_request):
 * the queue is full past sk_max_ack_backlog, i.e. min(listen() backlog,
 * somaxconn); without cookies SYNs are also dropped once the queue passes
 * 3/4 of tcp_max_syn_backlog.
 */
function synLimit(context: CheckContext, l: Listener): SynLimit {
  const cookies = sysctl(context, 'net.ipv4.tcp_syncookies');
  const maxSynBacklog = sysctl(context, 'net.ipv4.tcp_max_syn_backlog');
  const somaxconn = sysctl(context, 'net.core.somaxconn');
  const backlog: SynLimit = {
    limit: l.acceptQueueLimit,
    bound: `the listen backlog ${l.acceptQueueLimit} = min(listen() backlog, net.core.somaxconn)`,
    raise:
      somaxconn !== undefined && l.acceptQueueLimit >= somaxconn * l.sockets
        ? `raise net.core.somaxconn (now ${somaxconn}) and the application's listen() backlog`
        : "raise the application's listen() backlog",
  };
  if (cookies !== 0 || !maxSynBacklog) return backlog;
  const threeQuarters = maxSynBacklog - (maxSynBacklog >> 2);
  if (threeQuarters >= l.acceptQueueLimit) return backlog;
  return {
    limit: threeQuarters,
    bound: `3/4 of net.ipv4.tcp_max_syn_backlog (${maxSynBacklog}), which binds without SYN cookies`,
    raise: `raise net.ipv4.tcp_max_syn_backlog (now ${maxSynBacklog})`,
  };
}

function sourcesLine(context: CheckContext, l: Listener): string | null {
  const key = keyOf(l);
  const wildcard = l.address === '0.0.0.0' || l.address === '::';
  const matching = (context.input.table?.halfOpen ?? []).filter((h) =>
    wildcard ? h.endpoint.endsWith(`|${l.port}`) : h.endpoint === key,
  );
  if (matching.length === 0) return null;
  const sources = matching.reduce((total, h) => total + h.sources, 0);
  const top = matching.reduce((best, h) =>
    h.topSource.requests > best.topSource.requests ? h : best,
  );
  const who = top.topSource.address ? ` (most from ${top.topSource.address})` : '';
  return sources <= 3
    ? `${where(l)}: the half-open requests come from ${count(sources, 'source')}${who}: a SYN flood or clients whose handshakes never complete`
    : `${where(l)}: half-open requests from ${sources} sources`;
}

const synQueueOverflow: Check = {
  incident: 'syn_queue_overflow',
  run(context, finding) {
    const cookies = sysctl(context, 'net.ipv4.tcp_syncookies');
    const maxSynBacklog = sysctl(context, 'net.ipv4.tcp_max_syn_backlog');
    let busiest = 0;
    let busiestLimit = 0;
    const remedies: string[] = [];
    for (const l of context.input.listeners ?? []) {
      if (l.halfOpen === undefined) continue;
      const { limit, bound, raise } = synLimit(context, l);
      if (l.halfOpen > busiest) {
        busiest = l.halfOpen;
        busiestLimit = limit;
      }
      if (l.halfOpen === 0 || l.halfOpen < limit * context.thresholds.synBacklogRatio) continue;
      fire(finding, `${where(l)} has its SYN queue at the limit`);
      const limitText =
        limit > 0 ? `SYN-queue limit ${limit}, set by ${bound}` : 'a listen backlog of 0';
      finding.details.push(`${where(l)}: ${l.halfOpen} half-open (SYN_RECV), ${limitText}`);
      const sources = sourcesLine(context, l);
      if (sources) finding.details.push(sources);
      remedies.push(`${where(l)}: ${raise}`);
    }
    if (context.input.listeners) {
      add(finding, 'most half-open sockets at one listener', busiest, 'sockets');
      if (busiestLimit > 0)
        add(finding, 'SYN-queue limit of that listener', busiestLimit, 'requests');
    }
    const missing = countersMissing(context);
    if (!missing) {
      const dropped = addRise(context, finding, 'TcpExt.TCPReqQFullDrop') ?? 0;
      const cookied = addRise(context, finding, 'TcpExt.TCPReqQFullDoCookies') ?? 0;
      if (dropped > 0) {
        fire(
          finding,
          `TcpExt.TCPReqQFullDrop rose by ${dropped}: SYNs were dropped at a full SYN queue`,
        );
        finding.details.push(
          `${count(dropped, 'SYN')} dropped (TCPReqQFullDrop)${cookies === 0 ? ': net.ipv4.tcp_syncookies is 0, so a full queue drops' : ''}`,
        );
      }
      if (cookied > 0) {
        finding.details.push(
          `${count(cookied, 'SYN')} answered with SYN cookies (TCPReqQFullDoCookies): none dropped for that`,
        );
      }
    } else if (!finding.fired) {
      noOpinion(
        finding,
        context.input.listeners ? `no SYN queue is at its limit now; ${missing}` : missing,
      );
    }
    if (maxSynBacklog !== undefined)
      add(finding, 'net.ipv4.tcp_max_syn_backlog', maxSynBacklog, 'requests');
    if (cookies !== undefined) add(finding, 'net.ipv4.tcp_syncookies', cookies, 'setting');
    if (finding.fired) {
      if (cookies === 0) {
        remedies.push(
          'net.ipv4.tcp_syncookies is 0: with 1 a full SYN queue is answered with cookies instead of dropped',
        );
      }
      if (remedies.length > 0)
        finding.remedy = `${remedies.join('; ')}; and find the clients that never complete handshakes.`;
    }
  },
};

const synCookies: Check = {
  incident: 'syn_cookies',
  run(context, finding) {
    const missing = countersMissing(context);
    const mode = sysctl(context, 'net.ipv4.tcp_syncookies');
    if (missing) {
      noOpinion(finding, missing);
    } else {
      const sent = addRise(context, finding, 'TcpExt.SyncookiesSent') ?? 0;
      const received = addRise(context, finding, 'TcpExt.SyncookiesRecv');
      const failed = addRise(context, finding, 'TcpExt.SyncookiesFailed') ?? 0;
      const queueFull = addRise(context, finding, 'TcpExt.TCPReqQFullDoCookies') ?? 0;
      if (sent > 0) {
        fire(
          finding,
          mode === 2
            ? `TcpExt.SyncookiesSent rose by ${sent}: net.ipv4.tcp_syncookies=2 sends a cookie for every SYN`
            : `TcpExt.SyncookiesSent rose by ${sent}: a SYN queue was full (TCPReqQFullDoCookies +${queueFull})`,
        );
        if (received !== null)
          finding.details.push(`${count(received, 'handshake')} completed with a valid cookie`);
      }
      if (failed > 0) {
        finding.details.push(
          `${count(failed, 'ACK')} carried a cookie that did not validate: stale or forged ACKs`,
        );
      }
      for (const l of context.input.listeners ?? []) {
        if (
          l.halfOpen !== undefined &&
          l.halfOpen > 0 &&
          l.halfOpen >= synLimit(context, l).limit
        ) {
          finding.details.push(`${where(l)}: SYN queue full (${l.halfOpen} half-open)`);
        }
      }
    }
    if (mode !== undefined) add(finding, 'net.ipv4.tcp_syncookies', mode, 'setting');
    if (finding.fired && mode === 2) {
      finding.remedy =
        'Cookies for every SYN is a choice (net.ipv4.tcp_syncookies=2): set it to 1 to send them only when a SYN queue overflows.';
    }
  },
};

export const LISTENER_CHECKS: readonly Check[] = [
  acceptQueueOverflow,
  synQueueOverflow,
  synCookies,
];
