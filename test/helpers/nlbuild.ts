// Builds sock_diag reply bytes by hand, for parser tests: nlmsghdr,
// inet_diag_msg, rtattr, tcp_info. Layouts are written out from the uapi
// headers (linux/netlink.h, linux/inet_diag.h, linux/tcp.h), independently of
// native/uapi/sock_diag_abi.h, so that a wrong offset there shows up here.
// Every builder takes overrides for the length fields, which is the point:
// the tests feed the parser lengths that lie.

export const NLMSG_HDRLEN = 16;
export const INET_DIAG_MSG_LEN = 72;
export const NLMSG_NOOP = 1;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
export const SOCK_DIAG_BY_FAMILY = 20;
export const TCPDIAG_GETSOCK = 18;
export const NLM_F_MULTI = 0x2;

/** Reply attribute types (enum INET_DIAG_*). */
export const ATTR = {
  meminfo: 1,
  info: 2,
  vegasinfo: 3,
  cong: 4,
  tos: 5,
  skmeminfo: 7,
  shutdown: 8,
  protocol: 10,
  mark: 15,
  cgroupId: 21,
  sockopt: 22,
} as const;

/** NLMSG_ALIGN / RTA_ALIGN. */
export function align4(length: number): number {
  return (length + 3) & ~3;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Little-endian (host order on x86) u32 values. */
export function u32s(...values: number[]): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  values.forEach((value, i) => {
    view.setUint32(i * 4, value, true);
  });
  return out;
}

/** Little-endian u64 (CGROUP_ID, cookies). */
export function u64(value: bigint): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, value, true);
  return out;
}

export function i32(value: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setInt32(0, value, true);
  return out;
}

export interface NlmsgOptions {
  flags?: number;
  pid?: number;
  /** nlmsg_len as written; default the true length. */
  length?: number;
  /** Pad the message to 4 bytes (the kernel always does); default true. */
  pad?: boolean;
}

export function nlmsg(
  type: number,
  seq: number,
  payload: Uint8Array,
  options: NlmsgOptions = {},
): Uint8Array {
  const trueLength = NLMSG_HDRLEN + payload.length;
  const out = new Uint8Array(options.pad === false ? trueLength : align4(trueLength));
  const view = new DataView(out.buffer);
  view.setUint32(0, options.length ?? trueLength, true);
  view.setUint16(4, type, true);
  view.setUint16(6, options.flags ?? NLM_F_MULTI, true);
  view.setUint32(8, seq, true);
  view.setUint32(12, options.pid ?? 0, true);
  out.set(payload, NLMSG_HDRLEN);
  return out;
}

export interface AttributeOptions {
  /** rta_len as written; default 4 + payload length. */
  length?: number;
  /** Pad to 4 bytes; default true. */
  pad?: boolean;
}

export function attribute(
  type: number,
  payload: Uint8Array = new Uint8Array(0),
  options: AttributeOptions = {},
): Uint8Array {
  const trueLength = 4 + payload.length;
  const out = new Uint8Array(options.pad === false ? trueLength : align4(trueLength));
  const view = new DataView(out.buffer);
  view.setUint16(0, options.length ?? trueLength, true);
  view.setUint16(2, type, true);
  out.set(payload, 4);
  return out;
}

export interface DiagMsg {
  family: number;
  state: number;
  timer: number;
  retrans: number;
  sport: number;
  dport: number;
  /** 4 (IPv4) or 16 bytes, network order. */
  src: number[];
  dst: number[];
  ifindex: number;
  cookie: bigint;
  expires: number;
  rqueue: number;
  wqueue: number;
  uid: number;
  inode: number;
}

export const DEFAULT_DIAG_MSG: DiagMsg = {
  family: 2,
  state: 1,
  timer: 0,
  retrans: 0,
  sport: 8080,
  dport: 40000,
  src: [10, 0, 0, 1],
  dst: [10, 0, 0, 2],
  ifindex: 0,
  cookie: 0x1234n,
  expires: 0,
  rqueue: 0,
  wqueue: 0,
  uid: 1000,
  inode: 4242,
};

/** struct inet_diag_msg, 72 bytes. Ports are big-endian, like the kernel's. */
export function inetDiagMsg(fields: Partial<DiagMsg> = {}): Uint8Array {
  const msg = { ...DEFAULT_DIAG_MSG, ...fields };
  const out = new Uint8Array(INET_DIAG_MSG_LEN);
  const view = new DataView(out.buffer);
  out[0] = msg.family;
  out[1] = msg.state;
  out[2] = msg.timer;
  out[3] = msg.retrans;
  view.setUint16(4, msg.sport, false);
  view.setUint16(6, msg.dport, false);
  out.set(msg.src, 8); // idiag_src[4]: 8..24
  out.set(msg.dst, 24); // idiag_dst[4]: 24..40
  view.setUint32(40, msg.ifindex, true);
  view.setUint32(44, Number(msg.cookie & 0xffffffffn), true); // low word first
  view.setUint32(48, Number(msg.cookie >> 32n), true);
  view.setUint32(52, msg.expires, true);
  view.setUint32(56, msg.rqueue, true);
  view.setUint32(60, msg.wqueue, true);
  view.setUint32(64, msg.uid, true);
  view.setUint32(68, msg.inode, true);
  return out;
}

export interface RowOptions extends NlmsgOptions {
  type?: number;
}

/** One dump row: nlmsghdr + inet_diag_msg + attributes. */
export function row(
  seq: number,
  fields: Partial<DiagMsg> = {},
  attributes: Uint8Array[] = [],
  options: RowOptions = {},
): Uint8Array {
  return nlmsg(
    options.type ?? SOCK_DIAG_BY_FAMILY,
    seq,
    concat(inetDiagMsg(fields), ...attributes),
    options,
  );
}

/** NLMSG_DONE carrying nlk->dump_done_errno (0 or -errno). */
export function done(seq: number, code = 0): Uint8Array {
  return nlmsg(NLMSG_DONE, seq, i32(code));
}

/** NLMSG_ERROR: int error, then the echoed request header. */
export function error(seq: number, code: number): Uint8Array {
  const request = nlmsg(SOCK_DIAG_BY_FAMILY, seq, new Uint8Array(56), { flags: 0x301 });
  return nlmsg(NLMSG_ERROR, seq, concat(i32(code), request.subarray(0, NLMSG_HDRLEN)), {
    flags: 0,
  });
}

/** Where struct tcp_info fields sit (linux/tcp.h), and their width in bytes. */
export const TCP_INFO_LAYOUT = {
  infoRetransmits: [2, 1], // tcpi_retransmits
  probes: [3, 1],
  backoff: [4, 1],
  infoOptions: [5, 1], // tcpi_options
  rto: [8, 4],
  unacked: [24, 4],
  lost: [32, 4],
  lastDataSent: [44, 4],
  lastDataRecv: [52, 4],
  lastAckRecv: [56, 4],
  rtt: [68, 4],
  rttVar: [72, 4],
  sndCwnd: [80, 4],
  totalRetrans: [100, 4], // 104 bytes end here: kernels <= 3.14
  pacingRate: [104, 8], // 3.15
  bytesAcked: [120, 8], // 4.1
  bytesReceived: [128, 8],
  segsOut: [136, 4], // 4.2
  segsIn: [140, 4],
  notsentBytes: [144, 4], // 4.6
  minRtt: [148, 4],
  deliveryRate: [160, 8], // 4.9
  bytesSent: [200, 8], // 4.19
  bytesRetrans: [208, 8],
} as const satisfies Record<string, readonly [number, 1 | 4 | 8]>;

export type TcpInfoField = keyof typeof TCP_INFO_LAYOUT;

/**
 * A tcp_info payload of `length` bytes (the kernel sends its own sizeof:
 * 104 on 3.14, 232 on 6.1 headers, 280 on 6.18). Fields that do not fit are
 * dropped, as an older kernel would; bytes past the fields are `fill`.
 */
export function tcpInfo(
  length: number,
  fields: Partial<Record<TcpInfoField, number | bigint>>,
  fill = 0,
): Uint8Array {
  const out = new Uint8Array(length).fill(fill);
  const view = new DataView(out.buffer);
  for (const [name, value] of Object.entries(fields)) {
    const [offset, width] = TCP_INFO_LAYOUT[name as TcpInfoField];
    if (offset + width > length || value === undefined) continue;
    if (width === 1) out[offset] = Number(value);
    else if (width === 4) view.setUint32(offset, Number(value), true);
    else view.setBigUint64(offset, BigInt(value), true);
  }
  return out;
}
