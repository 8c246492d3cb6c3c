// Per-peer aggregation of the TCP table: how many local ephemeral ports are
// in use toward one (remote address, remote port) from one local address
// (the SNAT / TIME_WAIT reuse incident), and, only when the peers collector
// is enabled, the busiest remote addresses per state.
//
// IPv4 (and v4-mapped) addresses stay numbers counted in typed arrays, so
// the per-socket loop allocates nothing; native IPv6 peers, rarer, fall
// back to string keys.
import { endianness } from 'node:os';
import { formatAddress } from '../diag';
import type { ScanBatch } from './columns';
import { TupleCounter } from './tuple-counter';

// Local copies: the re-exported constants are getters, slow in a hot loop.
const AF_INET = 2;
const AF_INET6 = 10;

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

/**
 * IPv4 addresses are kept as the 32-bit word the address bytes make in
 * memory (network byte order read natively): one load per address instead
 * of four, and the same word for the same address, which is all counting
 * needs. ipv4String turns such a word back into text.
 */
const BIG_ENDIAN = endianness() === 'BE';
/** Bytes 8-11 of a v4-mapped IPv6 address (0, 0, 0xff, 0xff) as a word in memory. */
const V4_MAPPED_WORD = BIG_ENDIAN ? 0x0000ffff : 0xffff0000;

/** The IPv4 word of row `row`, v4-mapped included; -1 for native IPv6. */
function ipv4At(family: number, words: Uint32Array, row: number): number {
  const at = row * 4;
  if (family === AF_INET) return words[at]!;
  if (family !== AF_INET6) return -1;
  if (words[at] !== 0 || words[at + 1] !== 0 || words[at + 2] !== V4_MAPPED_WORD) return -1;
  return words[at + 3]!;
}

function ipv4String(word: number): string {
  const a = BIG_ENDIAN ? word : byteSwap(word);
  return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
}

function byteSwap(word: number): number {
  return (
    (((word & 0xff) << 24) | ((word & 0xff00) << 8) | ((word >>> 8) & 0xff00) | (word >>> 24)) >>> 0
  );
}

/** A 16-byte-per-row address column as four u32 words per row (a view; batches are aligned). */
function addressWords(column: Uint8Array): Uint32Array {
  if (column.byteOffset % 4 !== 0) return new Uint32Array(column.slice().buffer);
  return new Uint32Array(column.buffer, column.byteOffset, column.length >>> 2);
}

function bump(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

/** Table sizes of the previous scan: start there instead of growing ten times. */
const sizeHints = { tuples: 1024, peers: 1024 };

export class PeerTracker {
  /** (local v4, remote v4, remote port) -> ephemeral ports in use. */
  private readonly tuples4 = new TupleCounter(sizeHints.tuples * 2);
  /** Same for native IPv6, keyed "local|remote|port". */
  private readonly tuples6 = new Map<string, number>();
  /** (remote v4, state, 0) -> sockets; only with trackPeers. */
  private readonly peers4 = new TupleCounter(sizeHints.peers * 2);
  /** "state|remote" -> sockets for native IPv6 peers. */
  private readonly peers6 = new Map<string, number>();

  /** Which sockets are ephemeral-port users is TableScan's to say (addRow's `ephemeral`). */
  constructor(
    private readonly trackPeers: boolean,
    private readonly limit: number,
  ) {}

  // The batch addRow reads, set once per batch by startBatch.
  private family: Uint8Array = new Uint8Array(0);
  private remotePort: Uint16Array = new Uint16Array(0);
  private localAddress: Uint8Array = new Uint8Array(0);
  private remoteAddress: Uint8Array = new Uint8Array(0);
  private localWords: Uint32Array = new Uint32Array(0);
  private remoteWords: Uint32Array = new Uint32Array(0);

  /** Points addRow at `batch`: once per batch, before its rows. */
  startBatch(batch: ScanBatch): void {
    const c = batch.columns;
    this.family = c.family;
    this.remotePort = c.remotePort;
    this.localAddress = c.localAddress;
    this.remoteAddress = c.remoteAddress;
    this.localWords = addressWords(c.localAddress);
    this.remoteWords = addressWords(c.remoteAddress);
  }

  /**
   * One non-listening socket of the batch startBatch set, in state `s`:
   * called by TableScan's one pass for every socket whose local port is
   * ephemeral (a local port with a listener is the server side of a
   * connection, not a user of an ephemeral port; the kernel walks
   * listeners first, so they are known by then), and for every socket
   * when peers are tracked.
   */
  addRow(i: number, s: number, ephemeral: boolean): void {
    const f = this.family[i]!;
    const remote = ipv4At(f, this.remoteWords, i);
    if (remote >= 0) {
      if (this.trackPeers) this.peers4.add(remote, s, 0);
      if (!ephemeral) return;
      const local = ipv4At(f, this.localWords, i);
      if (local >= 0) {
        this.tuples4.add(local, remote, this.remotePort[i]!);
        return;
      }
    } else if (this.trackPeers) {
      bump(this.peers6, `${s}|${formatAddress(f, this.remoteAddress, i * 16)}`);
    }
    if (!ephemeral) return;
    const remoteText = formatAddress(f, this.remoteAddress, i * 16);
    bump(
      this.tuples6,
      `${formatAddress(f, this.localAddress, i * 16)}|${remoteText}|${this.remotePort[i]}`,
    );
  }

  /** Remembers this scan's table sizes for the next one. */
  rememberSizes(): void {
    sizeHints.tuples = Math.max(this.tuples4.size, 16);
    sizeHints.peers = Math.max(this.peers4.size, 16);
  }

  private busiest: TupleUsage | null = null;

  /** The (local address, remote address, remote port) using the most ephemeral ports. */
  busiestTuple(revealAddresses: boolean): TupleUsage {
    // Several collectors ask once the scan is complete: walk the table once.
    this.busiest ??= this.findBusiestTuple();
    return revealAddresses ? { ...this.busiest } : { ports: this.busiest.ports };
  }

  private findBusiestTuple(): TupleUsage {
    let best: TupleUsage = { ports: 0 };
    this.tuples4.forEach((local, remote, remotePort, ports) => {
      if (ports <= best.ports) return;
      best = {
        ports,
        localAddress: ipv4String(local),
        remoteAddress: ipv4String(remote),
        remotePort,
      };
    });
    for (const [key, ports] of this.tuples6) {
      if (ports <= best.ports) continue;
      const [localAddress, remoteAddress, remotePort] = key.split('|');
      best = { ports, localAddress, remoteAddress, remotePort: Number(remotePort) };
    }
    return best;
  }

  private counts(state: number): PeerCount[] {
    const out: PeerCount[] = [];
    this.peers4.forEach((remote, s, _unused, sockets) => {
      if (s === state) out.push({ address: ipv4String(remote), sockets });
    });
    const prefix = `${state}|`;
    for (const [key, sockets] of this.peers6) {
      if (key.startsWith(prefix)) out.push({ address: key.slice(prefix.length), sockets });
    }
    return out;
  }

  /** Top remote addresses by socket count in `state` (peers collector only). */
  topPeers(state: number): PeerCount[] {
    // Keep the K largest in a small sorted array: no sort of a million entries.
    const top: PeerCount[] = [];
    for (const entry of this.counts(state)) {
      if (top.length === this.limit && entry.sockets <= top[top.length - 1]!.sockets) continue;
      let at = top.length;
      while (at > 0 && top[at - 1]!.sockets < entry.sockets) at--;
      top.splice(at, 0, entry);
      if (top.length > this.limit) top.pop();
    }
    return top;
  }

  /** How many distinct remote addresses a state has (peers collector only). */
  distinctPeers(state: number): number {
    return this.trackPeers ? this.counts(state).length : 0;
  }
}
