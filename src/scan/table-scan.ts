// One pass over the whole socket table per scrape, shared by every collector
// that needs it (sockets, peers, listeners' half-open counts, incidents).
// Batches are aggregated as they arrive, into fixed arrays: no object per
// socket, no per-socket allocation (peer maps, when asked for, aside).
import { endianness } from 'node:os';
import type { PortRange } from '../procfs/sysctl';
import {
  Family,
  type NamespaceHandle,
  Skmem,
  STATE_SLOTS,
  TcpInfoOption,
  TcpState,
  TIMER_SLOTS,
  Timer,
} from '../diag';
import type { ScanBatch } from './columns';
import { endpointKey } from './endpoint';
import { DropPorts, GhostPorts, HalfOpenTally, type TimeWaitPort, TimeWaitPeers } from './facts';
import { bucketIndex, Histogram } from './histogram';
import { PeerTracker } from './peers';
import type { WalkChooser } from './walk-choice';

export const PROTOCOL_NAMES = ['tcp', 'udp'] as const;
export type ScanProtocol = (typeof PROTOCOL_NAMES)[number];
/** tcp_info is at least this long on every kernel since 2.6 (up to total_retrans). */
const TCP_INFO_MIN_LENGTH = 104;
const PORTS = 65536;
/** Which half of a u64 is the low word in memory. */
const LOW_WORD = endianness() === 'LE' ? 0 : 1;
const HIGH_WORD = 1 - LOW_WORD;
// Stand-ins for the columns of a group the dump did not carry, so that the
// per-socket loop sees one shape of arrays either way.
const NO_U8 = new Uint8Array(0);
const NO_U16 = new Uint16Array(0);
const NO_U32 = new Uint32Array(0);
// What a noted row is looked at for after the per-socket loop.
const RARE_HALF_OPEN = 0;
const RARE_TIME_WAIT = 1;
const RARE_GHOST = 2;
const RARE_DROPS = 3;
// Local copies for the per-socket loops: through the diag barrel these are
// getters, one call per read (about a tenth of the loop's time).
const STATES = STATE_SLOTS;
const TIMERS = TIMER_SLOTS;

/** RTT buckets, seconds: loopback tens of µs up to intercontinental and worse. */
export const RTT_BUCKETS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
];
/** Idle (time since data was last received) buckets, seconds. */
export const IDLE_BUCKETS = [1, 10, 60, 300, 900, 1800, 3600, 7200, 21600, 86400];

export interface ScanOptions {
  procfs: string;
  netns?: string;
  /** A namespace handle to dump through its long-lived socket (instead of netns). */
  namespace?: NamespaceHandle;
  /** How to read ip_local_port_range (default: under procfs, in our namespace). */
  portRange?: () => Promise<PortRange>;
  /** Count peers (remote addresses) per state: only with the peers collector. */
  trackPeers: boolean;
  peersLimit: number;
  /** Ask for tcp_info (RTT, idle time): the most expensive part of a dump. */
  tcpInfo: boolean;
  /** ESTABLISHED sockets idle longer than this without keepalive are counted as possible ghosts. */
  ghostIdleSeconds: number;
  batchSize?: number;
  /** TCP dumps run at once, each over its share of the table (1: one walk; 0: `walks` decides). */
  parallelism?: number;
  /** With parallelism 0 (auto): what decides, and learns from each scan's walk (walk-choice.ts). */
  walks?: WalkChooser;
  /** Count TCP sockets per cgroup id (for sockdiag_cgroup_sockets); default true. */
  trackCgroups?: boolean;
}

export interface ProtocolTotals {
  /** [family 0|1][state] socket counts. */
  states: Float64Array;
  receiveQueueBytes: number;
  sendQueueBytes: number;
  /** Skmem sums over sockets that reported it. */
  rmemAlloc: number;
  wmemQueued: number;
  drops: number;
  socketsWithDrops: number;
}

export class TableScan {
  readonly totals: Record<ScanProtocol, ProtocolTotals> = {
    tcp: emptyTotals(),
    udp: emptyTotals(),
  };
  /** TCP [state][timer] counts. */
  readonly timers = new Float64Array(STATE_SLOTS * TIMER_SLOTS);
  /**
   * TCP sockets per state for each local port that has a listener. A port's
   * listener is known before its connections arrive: the kernel walks the
   * listening hash before the established one, and a split scan dumps the
   * listeners before the parts.
   */
  private serviceStates: Uint32Array = new Uint32Array(64 * STATES);
  readonly listenerPorts = new Set<number>();
  /** 1 at each port with a listener (the same set, for the per-socket loop). */
  readonly listenerPort = new Uint8Array(65536);
  /** Where each service port's states start in serviceStates (for the per-socket loop). */
  private readonly serviceOffset = new Uint32Array(65536);
  /** SYN_RECV request sockets by local endpoint and source. */
  readonly halfOpenSources = new HalfOpenTally();
  private halfOpenCounts: Map<string, number> | null = null;
  /** Server-side TIME_WAIT sockets per (service port, peer). */
  readonly timeWaitPeers = new TimeWaitPeers();
  /** ESTABLISHED sockets per service port with and without TCP timestamps (tcp_info). */
  readonly withTimestamps = new Uint32Array(PORTS);
  readonly withoutTimestamps = new Uint32Array(PORTS);
  readonly ghostPorts = new GhostPorts();
  /** Non-listening sockets with a non-zero drop counter, per port. */
  readonly dropPorts = new DropPorts();
  /** TCP sockets per state for each cgroup id (0: none reported: TIME_WAIT, SYN_RECV, old kernels). */
  readonly cgroupStates = new Map<number, Uint32Array>();
  /** Possible ghosts per cgroup id. */
  readonly ghostCgroups = new Map<number, number>();
  /** Observed in tcp_info's units: RTT in µs, idle time in ms. */
  readonly rtt = new Histogram(RTT_BUCKETS, 1e6);
  readonly idleWithKeepalive = new Histogram(IDLE_BUCKETS, 1000);
  readonly idleWithoutKeepalive = new Histogram(IDLE_BUCKETS, 1000);
  /** ESTABLISHED sockets whose tcp_info shows retransmissions (total_retrans > 0). */
  retransmittedSockets = 0;
  /** ESTABLISHED sockets with an RTO timer pending and retransmits > 0 right now. */
  retransmittingSockets = 0;
  tcpInfoAvailable = false;
  /** ESTABLISHED, no keepalive timer, idle past the ghost threshold. */
  idleWithoutKeepaliveOverThreshold = 0;
  /** A few of them as "local:port -> remote:port", only when peers may be revealed. */
  readonly ghostExamples: string[] = [];
  /** TIME_WAIT sockets per remote port (the client side of a service). */
  readonly timeWaitByRemotePort = new Uint32Array(65536);
  readonly peers: PeerTracker;
  rows = 0;
  /** TCP rows per part of the walk: one entry (every row) for a single walk; for a split, each part (listeners, dumped first, aside). */
  readonly partRows: number[] = [];
  private readonly ghostIdleMs: number;
  private readonly revealPeers: boolean;
  private readonly trackCgroups: boolean;

  /**
   * `ephemeralRange` classifies local ports and splits the walk; with
   * `ephemeralRangeKnown` false it is the kernel default standing in for
   * an ip_local_port_range that could not be read, and nothing may report
   * it as the host's.
   */
  constructor(
    readonly ephemeralRange: [number, number],
    options: ScanOptions,
    readonly ephemeralRangeKnown = true,
  ) {
    this.peers = new PeerTracker(options.trackPeers, options.peersLimit);
    this.ghostIdleMs = options.ghostIdleSeconds * 1000;
    this.revealPeers = options.trackPeers;
    this.trackCgroups = options.trackCgroups ?? true;
  }

  add(batch: ScanBatch, protocol: ScanProtocol): void {
    this.rows += batch.count;
    if (protocol === 'tcp') this.addTcp(batch);
    else this.addOther(batch, this.totals[protocol]);
  }

  private addOther(batch: ScanBatch, totals: ProtocolTotals): void {
    const { family, state, receiveQueue, sendQueue } = batch.columns;
    for (let i = 0; i < batch.count; i++) {
      totals.states[(family[i] === Family.Inet6 ? STATE_SLOTS : 0) + state[i]!]!++;
      totals.receiveQueueBytes += receiveQueue[i]!;
      totals.sendQueueBytes += sendQueue[i]!;
    }
  }

  /**
   * Every TCP aggregate of a batch in one pass over its rows: states,
   * timers, cgroups, queues, service ports, tcp_info (ESTABLISHED), skmem
   * and peers. One pass loads each column once, while the
   * batch the parser just wrote on another CPU is being pulled in; rare
   * rows (SYN_RECV, TIME_WAIT, ghosts) are noted and looked at after the
   * loop, which then calls nothing.
   */
  private addTcp(batch: ScanBatch): void {
    const totals = this.totals.tcp;
    const c = batch.columns;
    const { family, state, timer, retransmits, receiveQueue, sendQueue, localPort } = c;
    const count = batch.count;
    const states = totals.states;
    const timers = this.timers;
    const listenerPort = this.listenerPort;
    const serviceOffset = this.serviceOffset;
    let serviceStates = this.serviceStates;
    let receiveBytes = 0;
    let sendBytes = 0;
    let retransmitting = 0;
    // tcp_info, when the dump carried it (empty columns otherwise: one shape).
    const infoLength = c.tcpInfoLength ?? NO_U16;
    const hasInfo = c.tcpInfoLength !== undefined;
    const rtt = c.rtt ?? NO_U32;
    const lastDataRecv = c.lastDataRecv ?? NO_U32;
    const totalRetrans = c.totalRetrans ?? NO_U32;
    const infoOptions = c.infoOptions ?? NO_U8;
    const withTimestamps = this.withTimestamps;
    const withoutTimestamps = this.withoutTimestamps;
    const ghostIdleMs = this.ghostIdleMs;
    // The histograms are counted in locals and written back once per batch.
    const rttBounds = this.rtt.rawBounds;
    const rttSlots = this.rtt.slots;
    const idleBounds = this.idleWithKeepalive.rawBounds;
    const keepaliveSlots = this.idleWithKeepalive.slots;
    const noKeepaliveSlots = this.idleWithoutKeepalive.slots;
    let rttSum = 0;
    let observed = 0;
    let keepaliveSum = 0;
    let keepaliveCount = 0;
    let noKeepaliveSum = 0;
    let retransmitted = 0;
    // skmem, when the dump carried it.
    const skmem = c.skmem ?? NO_U32;
    const skmemLength = c.skmemLength ?? NO_U8;
    const hasSkmem = c.skmem !== undefined && c.skmemLength !== undefined;
    let rmemAlloc = 0;
    let wmemQueued = 0;
    let drops = 0;
    let socketsWithDrops = 0;
    // Peers and ephemeral-port tuples (peers.ts), in the same pass.
    const peers = this.peers;
    peers.startBatch(batch);
    const [ephemeralLow, ephemeralHigh] = this.ephemeralRange;
    // With the peers collector on, every socket's remote address is counted.
    const everyRow = this.revealPeers;
    // TCP sockets per cgroup id and state; consecutive rows mostly share one.
    const trackCgroups = this.trackCgroups;
    // The u64 ids as two u32 halves: a BigInt per socket would allocate.
    const cgroups = trackCgroups ? cgroupWords(batch) : NO_U32;
    let lastCgroup = -1;
    let cgroupEntry: Uint32Array = NO_U32;
    // Rows for after the loop: [row, kind] pairs.
    const rare = this.rowScratch(2 * count);
    let rareCount = 0;
    for (let i = 0; i < count; i++) {
      const s = state[i]! & 15;
      const t = Math.min(timer[i]!, TIMERS - 1);
      states[(family[i] === Family.Inet6 ? STATES : 0) + s]!++;
      timers[s * TIMERS + t]!++;
      if (trackCgroups) {
        const cgroup = cgroups[2 * i + LOW_WORD]! + cgroups[2 * i + HIGH_WORD]! * 4294967296;
        if (cgroup !== lastCgroup) {
          lastCgroup = cgroup;
          cgroupEntry = this.cgroupEntry(cgroup);
        }
        cgroupEntry[s]!++;
      }
      const port = localPort[i]!;
      if (hasSkmem) {
        const n = skmemLength[i]!;
        if (n > 0) {
          const base = i * Skmem.Vars;
          rmemAlloc += skmem[base + Skmem.RmemAlloc]!;
          wmemQueued += skmem[base + Skmem.WmemQueued]!;
          if (n > Skmem.Drops && skmem[base + Skmem.Drops]! > 0) {
            drops += skmem[base + Skmem.Drops]!;
            socketsWithDrops++;
            // A listener's drops are its listen drops (the accept and SYN queues).
            if (s !== TcpState.Listen) {
              rare[rareCount++] = i;
              rare[rareCount++] = RARE_DROPS;
            }
          }
        }
      }
      if (s === TcpState.Listen) {
        // A listener's queues are its accept queue and backlog limit, not bytes.
        if (listenerPort[port] === 0) serviceStates = this.addServicePort(port);
        serviceStates[serviceOffset[port]! + s]!++;
        continue;
      }
      const service = listenerPort[port] === 1;
      if (service) serviceStates[serviceOffset[port]! + s]!++;
      const ephemeral = !service && port >= ephemeralLow && port <= ephemeralHigh;
      if (ephemeral || everyRow) peers.addRow(i, s, ephemeral);
      receiveBytes += receiveQueue[i]!;
      sendBytes += sendQueue[i]!;
      if (s === TcpState.Established) {
        if (t === Timer.Retransmit && retransmits[i]! > 0) retransmitting++;
        if (!hasInfo || infoLength[i]! < TCP_INFO_MIN_LENGTH) continue;
        observed++;
        if (service) {
          if ((infoOptions[i]! & TcpInfoOption.Timestamps) !== 0) withTimestamps[port]!++;
          else withoutTimestamps[port]!++;
        }
        const r = rtt[i]!;
        rttSum += r;
        rttSlots[bucketIndex(rttBounds, r)]!++;
        const idleMs = lastDataRecv[i]!;
        if (t === Timer.Keepalive) {
          keepaliveSum += idleMs;
          keepaliveCount++;
          keepaliveSlots[bucketIndex(idleBounds, idleMs)]!++;
        } else {
          noKeepaliveSum += idleMs;
          noKeepaliveSlots[bucketIndex(idleBounds, idleMs)]!++;
          if (idleMs > ghostIdleMs) {
            rare[rareCount++] = i;
            rare[rareCount++] = RARE_GHOST;
          }
        }
        if (totalRetrans[i]! > 0) retransmitted++;
      } else if (s === TcpState.SynRecv) {
        rare[rareCount++] = i;
        rare[rareCount++] = RARE_HALF_OPEN;
      } else if (s === TcpState.TimeWait) {
        rare[rareCount++] = i;
        rare[rareCount++] = RARE_TIME_WAIT;
      }
    }
    totals.receiveQueueBytes += receiveBytes;
    totals.sendQueueBytes += sendBytes;
    totals.rmemAlloc += rmemAlloc;
    totals.wmemQueued += wmemQueued;
    totals.drops += drops;
    totals.socketsWithDrops += socketsWithDrops;
    this.retransmittingSockets += retransmitting;
    if (observed > 0) {
      this.tcpInfoAvailable = true;
      this.rtt.record(rttSum, observed);
      this.idleWithKeepalive.record(keepaliveSum, keepaliveCount);
      this.idleWithoutKeepalive.record(noKeepaliveSum, observed - keepaliveCount);
      this.retransmittedSockets += retransmitted;
    }
    for (let r = 0; r < rareCount; r += 2) {
      const row = rare[r]!;
      switch (rare[r + 1]) {
        case RARE_HALF_OPEN:
          this.countHalfOpen(batch, row);
          break;
        case RARE_TIME_WAIT:
          this.countTimeWait(batch, row, localPort[row]!);
          break;
        case RARE_GHOST:
          this.countGhost(batch, row);
          break;
        default:
          this.countDrops(batch, row);
      }
    }
  }

  private scratch = new Int32Array(0);

  /** Room for `rows` row indices, reused from batch to batch. */
  private rowScratch(rows: number): Int32Array {
    if (this.scratch.length < rows) this.scratch = new Int32Array(rows);
    return this.scratch;
  }

  /** Makes `port` a service port; returns the (possibly grown) per-port states. */
  private addServicePort(port: number): Uint32Array {
    const offset = this.listenerPorts.size * STATES;
    if (offset + STATES > this.serviceStates.length) {
      const grown = new Uint32Array(this.serviceStates.length * 2);
      grown.set(this.serviceStates);
      this.serviceStates = grown;
    }
    this.listenerPort[port] = 1;
    this.serviceOffset[port] = offset;
    this.listenerPorts.add(port);
    return this.serviceStates;
  }

  /** The per-state counts of `cgroup`, made on first sight. */
  private cgroupEntry(cgroup: number): Uint32Array {
    let entry = this.cgroupStates.get(cgroup);
    if (!entry) {
      entry = new Uint32Array(STATES);
      this.cgroupStates.set(cgroup, entry);
    }
    return entry;
  }

  private countHalfOpen(batch: ScanBatch, row: number): void {
    const c = batch.columns;
    const key = endpointKey(c.family[row]!, batch.localAddress(row), c.localPort[row]!);
    this.halfOpenSources.add(key, batch.remoteAddress(row));
  }

  /** SYN_RECV request sockets per local endpoint key. */
  get halfOpen(): Map<string, number> {
    this.halfOpenCounts ??= this.halfOpenSources.counts();
    return this.halfOpenCounts;
  }

  private countTimeWait(batch: ScanBatch, row: number, port: number): void {
    const c = batch.columns;
    const remotePort = c.remotePort[row]!;
    this.timeWaitByRemotePort[remotePort]!++;
    // The server closed first: the peer's source port sits in our TIME_WAIT.
    if (this.listenerPort[port] === 1) {
      this.timeWaitPeers.add(
        port,
        c.family[row]!,
        c.remoteAddress,
        row,
        remotePort,
        c.expires[row]!,
      );
    }
  }

  private countGhost(batch: ScanBatch, row: number): void {
    this.idleWithoutKeepaliveOverThreshold++;
    const c = batch.columns;
    const cgroup = Number(c.cgroupId[row]!);
    this.ghostCgroups.set(cgroup, (this.ghostCgroups.get(cgroup) ?? 0) + 1);
    const local = c.localPort[row]!;
    const service = this.listenerPort[local] === 1;
    this.ghostPorts.add(
      service ? local : c.remotePort[row]!,
      service ? 'service' : 'client',
      batch.remoteAddress(row),
      c.lastDataRecv![row]! / 1000,
      c.unacked![row]! > 0 || c.sendQueue[row]! > 0,
      c.backoff![row]! > 0,
    );
    if (!this.revealPeers || this.ghostExamples.length >= 5) return;
    this.ghostExamples.push(
      `${batch.localAddress(row)}:${c.localPort[row]} -> ${batch.remoteAddress(row)}:${c.remotePort[row]} idle ${Math.round(c.lastDataRecv![row]! / 1000)} s, no keepalive`,
    );
  }

  /** Service ports (with a listener) by TIME_WAIT sockets on either side, busiest first. */
  timeWaitByServicePort(limit: number): [number, number][] {
    const ports: [number, number][] = [];
    for (const port of this.listenerPorts) {
      const count = this.portStates(port)[TcpState.TimeWait]! + this.timeWaitByRemotePort[port]!;
      if (count > 0) ports.push([port, count]);
    }
    return ports.sort((a, b) => b[1] - a[1]).slice(0, limit);
  }

  /** TIME_WAIT per service port with its peers' concentration, busiest first. */
  timeWaitPorts(limit: number): TimeWaitPort[] {
    return this.timeWaitByServicePort(limit).map(([port]) => ({
      port,
      clientSide: this.timeWaitByRemotePort[port]!,
      ...this.timeWaitPeers.summary(port, this.revealPeers),
      withTimestamps: this.withTimestamps[port]!,
      withoutTimestamps: this.withoutTimestamps[port]!,
    }));
  }

  /** Whether peer addresses may be named (the peers collector is on). */
  get peersRevealed(): boolean {
    return this.revealPeers;
  }

  /** A non-listening socket with drops, by the port it is known by. */
  private countDrops(batch: ScanBatch, row: number): void {
    const c = batch.columns;
    const drops = c.skmem![row * Skmem.Vars + Skmem.Drops]!;
    const local = c.localPort[row]!;
    const service = this.listenerPort[local] === 1;
    this.dropPorts.add(service ? local : c.remotePort[row]!, service ? 'service' : 'client', drops);
  }

  /** Sockets per state for one service port (a local port with a listener). */
  portStates(port: number): Uint32Array {
    if (this.listenerPort[port] !== 1) return new Uint32Array(STATES);
    const offset = this.serviceOffset[port]!;
    return this.serviceStates.subarray(offset, offset + STATES);
  }
}

/** The batch's cgroup ids as [low, high] u32 pairs, a view of the same memory. */
function cgroupWords(batch: ScanBatch): Uint32Array {
  const ids = batch.columns.cgroupId;
  return new Uint32Array(ids.buffer, ids.byteOffset, batch.count * 2);
}

function emptyTotals(): ProtocolTotals {
  return {
    states: new Float64Array(2 * STATE_SLOTS),
    receiveQueueBytes: 0,
    sendQueueBytes: 0,
    rmemAlloc: 0,
    wmemQueued: 0,
    drops: 0,
    socketsWithDrops: 0,
  };
}
