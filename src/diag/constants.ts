// Kernel numbers and the names this project gives them (label values are the
// kernel's names in snake_case).

export const AF_INET = 2;
export const AF_INET6 = 10;

export const FAMILIES = { inet: AF_INET, inet6: AF_INET6 } as const;
export type FamilyName = keyof typeof FAMILIES;

export const PROTOCOLS = {
  tcp: 6,
  udp: 17,
  udplite: 136,
  mptcp: 262,
  raw: 255,
  sctp: 132,
} as const;
export type ProtocolName = keyof typeof PROTOCOLS;

/** TCP states (include/net/tcp_states.h), index = state number. */
export const TCP_STATES = [
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
  // 12 is NEW_SYN_RECV: asking for it is allowed, but such sockets are
  // reported as syn_recv (3). 13 is BOUND_INACTIVE (6.8+), reported as close.
] as const;
export type StateName = (typeof TCP_STATES)[number];

export const STATE = {
  established: 1,
  syn_sent: 2,
  syn_recv: 3,
  fin_wait1: 4,
  fin_wait2: 5,
  time_wait: 6,
  close: 7,
  close_wait: 8,
  last_ack: 9,
  listen: 10,
  closing: 11,
  new_syn_recv: 12,
  bound_inactive: 13,
} as const;
export type RequestStateName = keyof typeof STATE;

/** All real states; never ~0, which on 6.8+ adds bound-inactive sockets and a bhash2 walk. */
export const DEFAULT_STATE_MASK = 0xfff;

/** idiag_timer values. 5 (delayed ACK) appeared in 2026 kernels. */
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

/** Index into the skmem column (SK_MEMINFO_*, linux/sock_diag.h). */
export const SKMEM = {
  rmemAlloc: 0,
  rcvbuf: 1,
  wmemAlloc: 2,
  sndbuf: 3,
  fwdAlloc: 4,
  wmemQueued: 5,
  optmem: 6,
  backlog: 7,
  drops: 8,
} as const;
export const SKMEM_VARS = 9;

/** idiag_ext bits: 1 << (INET_DIAG_x - 1). */
export const EXTENSION_BITS = { meminfo: 0x01, info: 0x02, skmeminfo: 0x40 } as const;
/** Column groups in the native batch layout (native/columns.h). */
export const COLUMN_GROUPS = { info: 1, skmeminfo: 2, meminfo: 4 } as const;
