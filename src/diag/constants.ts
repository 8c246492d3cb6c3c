// Kernel numbers and the names this project gives them (label values are the
// kernel's names in snake_case).

// The numbers the per-socket loops compare against are const enums: tsc
// inlines them, so a hot loop reads a literal, not a module property.

/** Address families (linux/socket.h). */
export const enum Family {
  Unspec = 0,
  Inet = 2,
  Inet6 = 10,
}

export const AF_INET = Family.Inet;
export const AF_INET6 = Family.Inet6;

export const FAMILIES = { inet: Family.Inet, inet6: Family.Inet6 } as const;
export type FamilyName = keyof typeof FAMILIES;
export const FAMILY_NAMES: readonly FamilyName[] = ['inet', 'inet6'];

export const PROTOCOLS = {
  tcp: 6,
  udp: 17,
  udplite: 136,
  mptcp: 262,
  raw: 255,
  sctp: 132,
} as const;
export type ProtocolName = keyof typeof PROTOCOLS;

/** TCP states (include/net/tcp_states.h). */
export const enum TcpState {
  Established = 1,
  SynSent = 2,
  /** Also how NEW_SYN_RECV request sockets are reported. */
  SynRecv = 3,
  FinWait1 = 4,
  FinWait2 = 5,
  TimeWait = 6,
  /** Also how BOUND_INACTIVE sockets are reported; UDP: unconnected. */
  Close = 7,
  CloseWait = 8,
  LastAck = 9,
  Listen = 10,
  Closing = 11,
  /** Request-only: asked for, reported as SynRecv. */
  NewSynRecv = 12,
  /** Request-only (6.8+): asked for, reported as Close. */
  BoundInactive = 13,
}

/** Slots per family in state-indexed arrays: states fit in 4 bits. */
export const STATE_SLOTS = 16;

/**
 * TCP state names (label values), index = state number; after them the
 * two states a request may ask for but no socket is reported in: 12,
 * NEW_SYN_RECV (reported as syn_recv) and 13, BOUND_INACTIVE (6.8+,
 * reported as close).
 */
const STATE_NAMES = [
  'unknown',
  'established',
  'syn_sent',
  'syn_recv',
  'fin_wait1',
  'fin_wait2',
  'time_wait',
  'close',
  'close_wait',
  'last_ack',
  'listen',
  'closing',
  'new_syn_recv',
  'bound_inactive',
] as const;

/** Names of the states sockets are reported in, index = state number. */
export const TCP_STATES = STATE_NAMES.slice(0, TcpState.NewSynRecv) as readonly StateName[];
export type StateName = (typeof STATE_NAMES)[number];

export type RequestStateName = Exclude<(typeof STATE_NAMES)[number], 'unknown'>;

/** State names a dump request may ask for, and their numbers. */
export const STATE = Object.fromEntries(
  STATE_NAMES.map((name, state) => [name, state]).slice(1),
) as unknown as Readonly<Record<RequestStateName, TcpState>>;

/** All real states; never ~0, which on 6.8+ adds bound-inactive sockets and a bhash2 walk. */
export const DEFAULT_STATE_MASK = 0xfff;

/** idiag_timer values. */
export const enum Timer {
  None = 0,
  /** RTO, loss probe or reorder timer; every SYN_RECV request socket. */
  Retransmit = 1,
  /** Keepalive, and the FIN_WAIT2 timer, which reuses it. */
  Keepalive = 2,
  TimeWait = 3,
  ZeroWindowProbe = 4,
}

/** Timer slots in [state][timer] arrays: the named timers and one for any other. */
export const TIMER_SLOTS = 6;

/** idiag_timer names. 5 (delayed ACK) appeared in 2026 kernels and counts as other. */
export const TIMERS = [
  'none',
  'retransmit',
  'keepalive',
  'time_wait',
  'zero_window_probe',
] as const;
export type TimerName = (typeof TIMERS)[number] | 'other';

export function timerName(timer: number): TimerName {
  return TIMERS[timer] ?? 'other';
}

/** Index into a row of the skmem column (SK_MEMINFO_*, linux/sock_diag.h). */
export const enum Skmem {
  RmemAlloc = 0,
  Rcvbuf = 1,
  WmemAlloc = 2,
  Sndbuf = 3,
  FwdAlloc = 4,
  WmemQueued = 5,
  Optmem = 6,
  Backlog = 7,
  /** Packets the socket dropped; on a listener, its listen drops. */
  Drops = 8,
  /** Values per row (SK_MEMINFO_VARS). */
  Vars = 9,
}

/** tcpi_options bits (linux/tcp.h TCPI_OPT_*). */
export const enum TcpInfoOption {
  Timestamps = 1,
  Sack = 2,
  WindowScale = 4,
  Ecn = 8,
}

/** Bytes per address in the address columns; IPv4 uses the first 4. */
export const ADDRESS_BYTES = 16;

/** idiag_ext bits: 1 << (INET_DIAG_x - 1). */
export const EXTENSION_BITS = { meminfo: 0x01, info: 0x02, skmeminfo: 0x40 } as const;
/** Column groups in the native batch layout (native/columns.h). */
export const COLUMN_GROUPS = { info: 1, skmeminfo: 2, meminfo: 4 } as const;
