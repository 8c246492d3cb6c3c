// What the incident checks need from the table beyond counts, gathered in
// the scan's loop: TIME_WAIT sockets per (service port, peer) with the span
// of the peer's source ports, possible ghosts and sockets with drops per
// port, half-open requests per listener by source. Only the rows that can
// matter reach these (TIME_WAIT on a service port, ghosts, drops, SYN_RECV),
// so the common row costs nothing here.
import { formatAddress } from '../diag';

/** TIME_WAIT sockets on one service port, and how concentrated their peers are. */
export interface TimeWaitPort {
  port: number;
  /** TIME_WAIT sockets with the service port as their local port (the server closed first). */
  serverSide: number;
  /** TIME_WAIT sockets toward the service port (this host was the client). */
  clientSide: number;
  /** Distinct peer addresses among the server-side ones. */
  peers: number;
  /** The peer address with the most server-side TIME_WAIT sockets on this port. */
  topPeer: PeerSpan | null;
  /** ESTABLISHED sockets on the port whose tcp_info says timestamps were negotiated, and without. */
  withTimestamps: number;
  withoutTimestamps: number;
  /** Who holds the port's listener, when owners are looked up. */
  owner?: string;
}

export interface PeerSpan {
  sockets: number;
  /** The lowest and highest peer port among them: the span of its source ports. */
  lowestPort: number;
  highestPort: number;
  /** Time left of the TIME_WAIT socket that expires first: 60 s minus the oldest one's age. */
  soonestExpiryMs: number;
  /** Only when peer addresses may be revealed. */
  address?: string;
}

/** Possible ghosts (ESTABLISHED, no keepalive, idle past the threshold) on one port. */
export interface GhostPort {
  port: number;
  /** `service`: the local port has a listener; `client`: this host connected out to `port`. */
  side: 'service' | 'client';
  sockets: number;
  distinctPeers: number;
  /** With data sent and not acknowledged: the peer stopped answering while this side waits. */
  withUnacked: number;
  /** With the retransmission timer backing off: retries already failed. */
  withBackoff: number;
}

/** Live non-listening TCP sockets on one port whose drop counter is not zero. */
export interface DropPort {
  port: number;
  side: 'service' | 'client';
  sockets: number;
  drops: number;
}

/** Half-open (SYN_RECV) requests toward one listener endpoint, by source. */
export interface HalfOpenSources {
  /** Endpoint key of the request's local side (scan/endpoint.ts). */
  endpoint: string;
  requests: number;
  sources: number;
  /** The busiest source's requests; its address only when peers may be revealed. */
  topSource: { requests: number; address?: string };
}

interface Span {
  sockets: number;
  lowestPort: number;
  highestPort: number;
  soonestExpiryMs: number;
}

/** TIME_WAIT sockets per (service port, peer address). */
export class TimeWaitPeers {
  /** port -> peer address (text) -> span. TIME_WAIT rows only: small next to the table. */
  private readonly byPort = new Map<number, Map<string, Span>>();

  add(
    port: number,
    family: number,
    remote: Uint8Array,
    row: number,
    remotePort: number,
    expiresMs: number,
  ): void {
    let peers = this.byPort.get(port);
    if (!peers) {
      peers = new Map();
      this.byPort.set(port, peers);
    }
    const address = formatAddress(family, remote, row * 16);
    const span = peers.get(address);
    if (!span) {
      peers.set(address, {
        sockets: 1,
        lowestPort: remotePort,
        highestPort: remotePort,
        soonestExpiryMs: expiresMs,
      });
      return;
    }
    span.sockets++;
    if (remotePort < span.lowestPort) span.lowestPort = remotePort;
    if (remotePort > span.highestPort) span.highestPort = remotePort;
    if (expiresMs < span.soonestExpiryMs) span.soonestExpiryMs = expiresMs;
  }

  /** The server-side sockets on `port`, their peer count and top peer. */
  summary(
    port: number,
    reveal: boolean,
  ): { serverSide: number; peers: number; topPeer: PeerSpan | null } {
    const peers = this.byPort.get(port);
    if (!peers) return { serverSide: 0, peers: 0, topPeer: null };
    let serverSide = 0;
    let top: [string, Span] | null = null;
    for (const entry of peers) {
      serverSide += entry[1].sockets;
      if (!top || entry[1].sockets > top[1].sockets) top = entry;
    }
    const topPeer = top ? { ...top[1], ...(reveal ? { address: top[0] } : {}) } : null;
    return { serverSide, peers: peers.size, topPeer };
  }
}

interface GhostTally {
  side: 'service' | 'client';
  sockets: number;
  peers: Set<string>;
  withUnacked: number;
  withBackoff: number;
}

/** Upper bounds (seconds) of the idle-time buckets reported for ghosts. */
export const GHOST_IDLE_BOUNDS = [3600, 7200, 21600, 86400, 604800, Infinity];

export class GhostPorts {
  private readonly byPort = new Map<string, GhostTally & { port: number }>();
  readonly idle = new Float64Array(GHOST_IDLE_BOUNDS.length);

  add(
    port: number,
    side: 'service' | 'client',
    peer: string,
    idleSeconds: number,
    unacked: boolean,
    backoff: boolean,
  ): void {
    const key = `${side}|${port}`;
    let tally = this.byPort.get(key);
    if (!tally) {
      tally = { port, side, sockets: 0, peers: new Set(), withUnacked: 0, withBackoff: 0 };
      this.byPort.set(key, tally);
    }
    tally.sockets++;
    tally.peers.add(peer);
    if (unacked) tally.withUnacked++;
    if (backoff) tally.withBackoff++;
    let bucket = 0;
    while (idleSeconds > GHOST_IDLE_BOUNDS[bucket]!) bucket++;
    this.idle[bucket]!++;
  }

  /** Per port, most sockets first. */
  ports(): GhostPort[] {
    return [...this.byPort.values()]
      .map(({ port, side, sockets, peers, withUnacked, withBackoff }) => ({
        port,
        side,
        sockets,
        distinctPeers: peers.size,
        withUnacked,
        withBackoff,
      }))
      .sort((a, b) => b.sockets - a.sockets || a.port - b.port);
  }

  /** [upper bound in seconds, sockets] for each bucket that holds any. */
  idleBuckets(): [number, number][] {
    const out: [number, number][] = [];
    GHOST_IDLE_BOUNDS.forEach((bound, i) => {
      if (this.idle[i]! > 0) out.push([bound, this.idle[i]!]);
    });
    return out;
  }
}

export class DropPorts {
  private readonly byPort = new Map<string, DropPort>();
  sockets = 0;
  drops = 0;

  add(port: number, side: 'service' | 'client', drops: number): void {
    this.sockets++;
    this.drops += drops;
    const key = `${side}|${port}`;
    const tally = this.byPort.get(key);
    if (tally) {
      tally.sockets++;
      tally.drops += drops;
    } else {
      this.byPort.set(key, { port, side, sockets: 1, drops });
    }
  }

  ports(): DropPort[] {
    return [...this.byPort.values()].sort((a, b) => b.drops - a.drops || a.port - b.port);
  }
}

export class HalfOpenTally {
  /** Endpoint key -> source address -> requests. */
  private readonly byEndpoint = new Map<string, Map<string, number>>();

  add(endpoint: string, source: string): void {
    let sources = this.byEndpoint.get(endpoint);
    if (!sources) {
      sources = new Map();
      this.byEndpoint.set(endpoint, sources);
    }
    sources.set(source, (sources.get(source) ?? 0) + 1);
  }

  /** Requests per endpoint key (what the listeners' half-open counts are built from). */
  counts(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [endpoint, sources] of this.byEndpoint) {
      let requests = 0;
      for (const n of sources.values()) requests += n;
      out.set(endpoint, requests);
    }
    return out;
  }

  summaries(reveal: boolean): HalfOpenSources[] {
    const out: HalfOpenSources[] = [];
    for (const [endpoint, sources] of this.byEndpoint) {
      let requests = 0;
      let top: [string, number] = ['', 0];
      for (const entry of sources) {
        requests += entry[1];
        if (entry[1] > top[1]) top = entry;
      }
      const topSource = { requests: top[1], ...(reveal ? { address: top[0] } : {}) };
      out.push({ endpoint, requests, sources: sources.size, topSource });
    }
    return out.sort((a, b) => b.requests - a.requests);
  }
}
