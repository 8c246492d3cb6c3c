// What one socket-destroy event says about the connection it ended: which
// service port it belongs to, which way it was made, and how it ended.
//
// The kernel gives no reason: every destroyed socket is in state CLOSE. The
// outcome is read from the signatures measured on Linux 6.18 (see
// src/diag/subscribe.ts and docs/CLOSED.md), in this order:
//   - remote port 0 and nothing queued: a listener, or a socket that never
//     connected: not a connection (so is a listener shut down before its
//     close, which tcp_disconnect() leaves with 2 queued and no RTT sample);
//   - remote port 0 with bytes queued: tcp_disconnect() wiped it before it
//     was freed (send queue = the peer's largest window + 2). That is
//     close() with SO_LINGER 0 (aborted), or a blocking connect() that
//     failed (refused or timed out: failed; it has no RTT sample). Every
//     tcp_info counter is zero then, and the remote port is gone: an
//     outbound one has no service port left (port "unknown"); an inbound
//     one keeps its local port, a listener's or one outside the ephemeral
//     range;
//   - outbound with nothing acknowledged, not even the SYN: the handshake
//     never completed (failed);
//   - two or more bytes unread: closed with data unread, which sends a RST
//     (unread);
//   - our FIN acknowledged: bytes_acked exceeds the payload sent (bytes_sent
//     less bytes_retrans, 4.19+) by one, after the SYN of an outbound
//     connection: a normal close (closed);
//   - unacknowledged data and retransmissions, or unanswered probes: given
//     up (timeout);
//   - otherwise no FIN of ours was acknowledged: reset (one byte unread is
//     taken for the peer's unread FIN, which counts in the receive queue).
// A socket ends one side of a connection; its peer on the same host sends
// its own event (a linger-0 abort here is a reset there).
import { type SocketBatch, TCP_INFO_FIELD_ENDS } from '../diag';

export const OUTCOMES = ['closed', 'reset', 'unread', 'aborted', 'timeout', 'failed'] as const;
export type Outcome = (typeof OUTCOMES)[number];
export const enum OutcomeIndex {
  Closed = 0,
  Reset = 1,
  Unread = 2,
  Aborted = 3,
  Timeout = 4,
  Failed = 5,
}

export type Direction = 'inbound' | 'outbound';

/** tcpi_min_rtt before the first RTT sample (~0U in the kernel). */
export const NO_RTT_SAMPLE = 0xffffffff;
/** Where tcp_info must reach: bytes_acked (4.1) for anything, bytes_retrans (4.19) for the FIN test. */
const BYTES_ACKED_END = TCP_INFO_FIELD_ENDS.bytesAcked;
const BYTES_RETRANS_END = TCP_INFO_FIELD_ENDS.bytesRetrans;
const IPPROTO_UDP = 17;

/** What the classifier needs to know about the namespace the events come from. */
export interface PortContext {
  /** A local port with a listener now or in the last minutes. */
  isService(port: number): boolean;
  /** net.ipv4.ip_local_port_range. */
  ephemeral: readonly [number, number];
}

/** One event's verdict, reused from row to row (no object per event). */
export interface Verdict {
  /** false: not a connection (a listener, an unconnected socket). */
  connection: boolean;
  protocol: 'tcp' | 'udp';
  direction: Direction;
  /** The service port; 0 when the kernel wiped it (outbound aborts). */
  port: number;
  outcome: OutcomeIndex;
  /** tcp_info is there and counts (the connection was not wiped). */
  measured: boolean;
}

export function emptyVerdict(): Verdict {
  return {
    connection: false,
    protocol: 'tcp',
    direction: 'inbound',
    port: 0,
    outcome: OutcomeIndex.Closed,
    measured: false,
  };
}

function inRange(port: number, range: readonly [number, number]): boolean {
  return port >= range[0] && port <= range[1];
}

/**
 * Inbound when the local port is a service port; also when it is outside
 * the ephemeral range while the remote one is inside (a listener that came
 * and went between two looks at the listeners).
 */
function inbound(local: number, remote: number, context: PortContext): boolean {
  if (context.isService(local)) return true;
  return !inRange(local, context.ephemeral) && remote !== 0 && inRange(remote, context.ephemeral);
}

function classifyUdp(batch: SocketBatch, row: number, context: PortContext, out: Verdict): void {
  const local = batch.columns.localPort[row]!;
  const remote = batch.columns.remotePort[row]!;
  out.protocol = 'udp';
  out.measured = false;
  out.outcome = OutcomeIndex.Closed;
  out.connection = local !== 0;
  // No listeners for UDP: a socket on an ephemeral port is a client's.
  const client = inRange(local, context.ephemeral);
  out.direction = client ? 'outbound' : 'inbound';
  out.port = client ? remote : local;
}

/** Classifies row `row` of a destroy-event batch into `out`. */
export function classify(
  batch: SocketBatch,
  row: number,
  context: PortContext,
  out: Verdict,
): Verdict {
  const c = batch.columns;
  if (c.protocol[row] === IPPROTO_UDP) {
    classifyUdp(batch, row, context, out);
    return out;
  }
  const local = c.localPort[row]!;
  const remote = c.remotePort[row]!;
  out.protocol = 'tcp';
  out.measured = false;
  if (remote === 0) {
    out.connection = c.sendQueue[row]! > 0;
    if (!out.connection) return out;
    // Wiped by tcp_disconnect(): only the local port is left. Outside the
    // ephemeral range it is a service's (a listener since gone, or not yet seen).
    const service = context.isService(local) || !inRange(local, context.ephemeral);
    const sampled = c.tcpInfoLength !== undefined && c.minRtt![row] !== NO_RTT_SAMPLE;
    // A listener shut down before close() is wiped too, but no peer ever
    // sent it a window: send queue 0 + 2.
    if (service && !sampled && c.sendQueue[row]! <= 2) {
      out.connection = false;
      return out;
    }
    out.direction = service ? 'inbound' : 'outbound';
    out.port = service ? local : 0;
    out.outcome = service || sampled ? OutcomeIndex.Aborted : OutcomeIndex.Failed;
    return out;
  }
  out.connection = true;
  const isInbound = inbound(local, remote, context);
  out.direction = isInbound ? 'inbound' : 'outbound';
  out.port = isInbound ? local : remote;
  out.outcome = outcomeOf(batch, row, isInbound);
  out.measured = (c.tcpInfoLength?.[row] ?? 0) >= BYTES_ACKED_END;
  return out;
}

function outcomeOf(batch: SocketBatch, row: number, isInbound: boolean): OutcomeIndex {
  const c = batch.columns;
  const length = c.tcpInfoLength?.[row] ?? 0;
  // Without tcp_info (or before 4.1) nothing tells an abort from a close.
  if (length < BYTES_ACKED_END) return OutcomeIndex.Closed;
  const acked = c.bytesAcked![row]!;
  if (!isInbound && acked === 0) return OutcomeIndex.Failed;
  const unread = c.receiveQueue[row]!;
  if (unread >= 2) return OutcomeIndex.Unread;
  // Kernels before 4.19 lack bytes_sent: a close cannot be told from a reset.
  if (length < BYTES_RETRANS_END) return OutcomeIndex.Closed;
  const payload = c.bytesSent![row]! - c.bytesRetrans![row]!;
  const sequenceExtra = acked - payload - (isInbound ? 0 : 1);
  if (sequenceExtra >= 1) return OutcomeIndex.Closed;
  const retransmitted = c.totalRetrans![row]! > 0 || c.infoRetransmits![row]! > 0;
  if ((c.sendQueue[row]! > 0 && retransmitted) || c.probes![row]! > 0) return OutcomeIndex.Timeout;
  // One byte unread is most often the peer's FIN, not data: no RST of ours.
  return OutcomeIndex.Reset;
}
