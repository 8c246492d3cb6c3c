// Per-peer aggregation of the TCP table: how many local ephemeral ports are
// in use toward one (remote address, remote port) from one local address
// (the SNAT / TIME_WAIT reuse incident), and, only when the peers collector
// is enabled, the busiest remote addresses per state.
//
// IPv4 (and v4-mapped) addresses stay numbers; keys are numbers below 2^53,
// so the hot loop allocates nothing. Native IPv6 peers fall back to strings.
import { AF_INET, AF_INET6, formatAddress, type SocketBatch } from '../diag';

const STATE_LISTEN = 10;
const STATES = 16;

export interface TupleUsage {
  ports: number;
  /** Present only when peers may be revealed. */
  localAddress?: string;
  remoteAddress?: string;
  remotePort?: number;
}

export interface PeerCount {
  address: string;
  sockets: number;
}

type Key = number | string;

/** IPv4 address as a number, v4-mapped included; -1 for native IPv6. */
function ipv4At(family: number, bytes: Uint8Array, offset: number): number {
  let at = offset;
  if (family === AF_INET6) {
    for (let i = 0; i < 10; i++) if (bytes[offset + i] !== 0) return -1;
    if (bytes[offset + 10] !== 0xff || bytes[offset + 11] !== 0xff) return -1;
    at = offset + 12;
  } else if (family !== AF_INET) {
    return -1;
  }
  return (
    ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0
  );
}

function addressKey(family: number, bytes: Uint8Array, offset: number): Key {
  const v4 = ipv4At(family, bytes, offset);
  return v4 >= 0 ? v4 : formatAddress(family, bytes, offset);
}

function keyToAddress(key: Key): string {
  if (typeof key === 'string') return key;
  return `${key >>> 24}.${(key >>> 16) & 255}.${(key >>> 8) & 255}.${key & 255}`;
}

export class PeerTracker {
  /** (remote address, remote port) -> local address -> ports in use. */
  private readonly tuples = new Map<Key, Map<Key, number>>();
  private readonly peersByState: Map<Key, number>[] = [];

  constructor(
    private readonly range: [number, number],
    private readonly trackPeers: boolean,
    private readonly limit: number,
  ) {
    if (trackPeers) for (let s = 0; s < STATES; s++) this.peersByState.push(new Map());
  }

  add(batch: SocketBatch): void {
    const { family, state, localPort, remotePort, localAddress, remoteAddress } = batch.columns;
    const [low, high] = this.range;
    for (let i = 0; i < batch.count; i++) {
      const s = state[i]! & 15;
      if (s === STATE_LISTEN) continue;
      const f = family[i]!;
      const remote = addressKey(f, remoteAddress, i * 16);
      if (this.trackPeers) {
        const peers = this.peersByState[s]!;
        peers.set(remote, (peers.get(remote) ?? 0) + 1);
      }
      const port = localPort[i]!;
      if (port < low || port > high) continue;
      const tupleKey =
        typeof remote === 'number' ? remote * 65536 + remotePort[i]! : `${remote}|${remotePort[i]}`;
      let byLocal = this.tuples.get(tupleKey);
      if (!byLocal) {
        byLocal = new Map();
        this.tuples.set(tupleKey, byLocal);
      }
      const local = addressKey(f, localAddress, i * 16);
      byLocal.set(local, (byLocal.get(local) ?? 0) + 1);
    }
  }

  /** The (local address, remote address, remote port) using the most ephemeral ports. */
  busiestTuple(revealAddresses: boolean): TupleUsage {
    let best: TupleUsage = { ports: 0 };
    for (const [tupleKey, byLocal] of this.tuples) {
      for (const [local, ports] of byLocal) {
        if (ports <= best.ports) continue;
        best = { ports };
        if (revealAddresses) {
          const [remote, remotePort] =
            typeof tupleKey === 'number'
              ? [keyToAddress(Math.floor(tupleKey / 65536)), tupleKey % 65536]
              : [tupleKey.slice(0, tupleKey.lastIndexOf('|')), Number(tupleKey.split('|').pop())];
          best.localAddress = keyToAddress(local);
          best.remoteAddress = remote;
          best.remotePort = remotePort;
        }
      }
    }
    return best;
  }

  /** Top remote addresses by socket count in `state` (peers collector only). */
  topPeers(state: number): PeerCount[] {
    const peers = this.peersByState[state];
    if (!peers) return [];
    // Keep the K largest in a small sorted array: no sort of a million entries.
    const top: [Key, number][] = [];
    for (const entry of peers) {
      if (top.length === this.limit && entry[1] <= top[top.length - 1]![1]) continue;
      let at = top.length;
      while (at > 0 && top[at - 1]![1] < entry[1]) at--;
      top.splice(at, 0, entry);
      if (top.length > this.limit) top.pop();
    }
    return top.map(([key, sockets]) => ({ address: keyToAddress(key), sockets }));
  }

  /** How many distinct remote addresses a state has (peers collector only). */
  distinctPeers(state: number): number {
    return this.peersByState[state]?.size ?? 0;
  }
}
