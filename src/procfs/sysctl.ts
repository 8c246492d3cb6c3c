// Network sysctls under /proc/sys/net. Note for callers: unlike
// /proc/<pid>/net/*, /proc/sys/net answers for the network namespace of the
// process that reads it, whatever procfs path is given.
import { INTEGER, readOptional } from './read';

interface SysctlSpec {
  name: string;
  /** Name suffixes for vector sysctls, in the kernel's order. */
  parts?: readonly string[];
}

const MEMORY_PARTS = ['min', 'default', 'max'] as const;

/**
 * The TCP settings the incidents are measured against: accept and SYN
 * backlogs, TIME_WAIT buckets, ephemeral ports, keepalive, socket memory.
 * A fixed list, so what the sysctl collector exports stays bounded.
 */
export const SYSCTLS: readonly SysctlSpec[] = [
  { name: 'net.core.somaxconn' },
  { name: 'net.ipv4.tcp_max_syn_backlog' },
  { name: 'net.ipv4.tcp_syncookies' },
  { name: 'net.ipv4.tcp_abort_on_overflow' },
  { name: 'net.ipv4.tcp_max_tw_buckets' },
  { name: 'net.ipv4.tcp_tw_reuse' },
  // Newer than 6.12; absent before.
  { name: 'net.ipv4.tcp_tw_reuse_delay' },
  // Removed in 4.12: its absence is the answer to "is tw_recycle on?".
  { name: 'net.ipv4.tcp_tw_recycle' },
  { name: 'net.ipv4.tcp_timestamps' },
  { name: 'net.ipv4.tcp_fin_timeout' },
  { name: 'net.ipv4.tcp_keepalive_time' },
  { name: 'net.ipv4.tcp_keepalive_intvl' },
  { name: 'net.ipv4.tcp_keepalive_probes' },
  { name: 'net.ipv4.ip_local_port_range', parts: ['min', 'max'] },
  // Host-wide: only the initial network namespace has this file (and tcp_mem).
  { name: 'net.ipv4.tcp_max_orphans' },
  { name: 'net.ipv4.tcp_syn_retries' },
  { name: 'net.ipv4.tcp_synack_retries' },
  { name: 'net.ipv4.tcp_rmem', parts: MEMORY_PARTS },
  { name: 'net.ipv4.tcp_wmem', parts: MEMORY_PARTS },
  // The kernel documents tcp_mem's middle value as "pressure", not a default.
  { name: 'net.ipv4.tcp_mem', parts: ['min', 'pressure', 'max'] },
  { name: 'net.core.rmem_max' },
  { name: 'net.core.wmem_max' },
];

/** /proc/sys path of a dotted sysctl name: net.ipv4.tcp_mem → <procfs>/sys/net/ipv4/tcp_mem. */
export function sysctlPath(procfs: string, name: string): string {
  return `${procfs}/sys/${name.replaceAll('.', '/')}`;
}

/**
 * The integers of a sysctl's text ("4096\t131072\t6291456\n"), or null when
 * the count differs from `expected` or any token is not an integer: a
 * partial vector would put values under the wrong suffix.
 */
export function parseSysctlValues(text: string, expected: number): number[] | null {
  const tokens = text.trim().split(/\s+/);
  if (tokens.length !== expected || !tokens.every((token) => INTEGER.test(token))) return null;
  return tokens.map(Number);
}

/** A sysctl's raw text, or null when this kernel does not have it. */
export function readSysctl(procfs: string, name: string): Promise<string | null> {
  return readOptional(sysctlPath(procfs, name));
}

/** The kernel's default ip_local_port_range. */
export const DEFAULT_PORT_RANGE: readonly [number, number] = [32768, 60999];

/** net.ipv4.ip_local_port_range as [low, high]; the kernel default when unreadable. */
export async function readPortRange(procfs: string): Promise<[number, number]> {
  try {
    const text = await readSysctl(procfs, 'net.ipv4.ip_local_port_range');
    const values = text === null ? null : parseSysctlValues(text, 2);
    if (values) return [values[0]!, values[1]!];
  } catch {
    // not readable: fall back to the kernel default
  }
  return [...DEFAULT_PORT_RANGE];
}

/**
 * Every listed sysctl this kernel has, by dotted name; vectors as one
 * entry per part ("net.ipv4.ip_local_port_range.min"). Absent sysctls and
 * unparsable ones are left out.
 */
export async function readSysctlValues(procfs: string): Promise<Map<string, number>> {
  const texts = await Promise.all(SYSCTLS.map((spec) => readSysctl(procfs, spec.name)));
  const values = new Map<string, number>();
  SYSCTLS.forEach((spec, i) => {
    const text = texts[i];
    if (text === null || text === undefined) return;
    const parts = spec.parts ?? [];
    const parsed = parseSysctlValues(text, Math.max(parts.length, 1));
    if (parsed === null) return;
    if (parts.length === 0) values.set(spec.name, parsed[0]!);
    parts.forEach((part, p) => values.set(`${spec.name}.${part}`, parsed[p]!));
  });
  return values;
}
