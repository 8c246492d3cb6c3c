// Network sysctls under /proc/sys/net. Note for callers: unlike
// /proc/<pid>/net/*, /proc/sys/net answers for the network namespace of the
// process that reads it, whatever procfs path is given.
import { type FileReader, INTEGER, type ProcfsProblem, readOptional } from './read';

interface SysctlSpec {
  name: string;
  /** Name suffixes for vector sysctls, in the kernel's order. */
  parts?: readonly string[];
  /** The values the kernel can hold (default: a C int, which proc_dointvec prints). */
  min?: number;
  max?: number;
}

const MEMORY_PARTS = ['min', 'default', 'max'] as const;
const INT_MIN = -(2 ** 31);
const INT_MAX = 2 ** 31 - 1;

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
  { name: 'net.ipv4.tcp_tw_reuse_delay', min: 0, max: 2 ** 32 - 1 },
  // Removed in 4.12: its absence is the answer to "is tw_recycle on?".
  { name: 'net.ipv4.tcp_tw_recycle' },
  { name: 'net.ipv4.tcp_timestamps' },
  { name: 'net.ipv4.tcp_fin_timeout' },
  { name: 'net.ipv4.tcp_keepalive_time' },
  { name: 'net.ipv4.tcp_keepalive_intvl' },
  { name: 'net.ipv4.tcp_keepalive_probes' },
  // The kernel refuses a range outside 1-65535 or with min above max.
  { name: 'net.ipv4.ip_local_port_range', parts: ['min', 'max'], min: 1, max: 65535 },
  // Host-wide: only the initial network namespace has this file (and tcp_mem).
  { name: 'net.ipv4.tcp_max_orphans' },
  { name: 'net.ipv4.tcp_syn_retries', min: 1, max: 127 },
  { name: 'net.ipv4.tcp_synack_retries' },
  { name: 'net.ipv4.tcp_rmem', parts: MEMORY_PARTS, min: 1 },
  { name: 'net.ipv4.tcp_wmem', parts: MEMORY_PARTS, min: 1 },
  // The kernel documents tcp_mem's middle value as "pressure", not a default.
  // Pages, in unsigned longs.
  {
    name: 'net.ipv4.tcp_mem',
    parts: ['min', 'pressure', 'max'],
    min: 0,
    max: Number.MAX_SAFE_INTEGER,
  },
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
export function readSysctl(
  procfs: string,
  name: string,
  read: FileReader = readOptional,
): Promise<string | null> {
  return read(sysctlPath(procfs, name));
}

/** The kernel's default ip_local_port_range. */
export const DEFAULT_PORT_RANGE: readonly [number, number] = [32768, 60999];

/** Why a sysctl's text is not what the kernel prints, or undefined when it is. */
function problemWith(spec: SysctlSpec, text: string): { values?: number[]; message?: string } {
  const expected = Math.max(spec.parts?.length ?? 0, 1);
  const values = parseSysctlValues(text, expected);
  if (values === null) {
    return {
      message: `expected ${expected} integer${expected > 1 ? 's' : ''}, got ${JSON.stringify(text.trim())}`,
    };
  }
  const [min, max] = [spec.min ?? INT_MIN, spec.max ?? INT_MAX];
  const outside = values.find(
    (value) => !Number.isSafeInteger(value) || value < min || value > max,
  );
  if (outside !== undefined) {
    return {
      message: `${outside} is outside ${min}-${max}, which the kernel allows for ${spec.name}`,
    };
  }
  if (spec.name === 'net.ipv4.ip_local_port_range' && values[0]! > values[1]!) {
    return { message: `the range ${values[0]}-${values[1]} is reversed, which the kernel refuses` };
  }
  return { values };
}

const PORT_RANGE = SYSCTLS.find((spec) => spec.name === 'net.ipv4.ip_local_port_range')!;

export interface PortRange {
  range: [number, number];
  /** false: the sysctl could not be read or held garbage; `range` is the kernel default, for the scan to split by. */
  known: boolean;
}

/**
 * net.ipv4.ip_local_port_range. The scan needs some range to split the
 * table by (any range splits it exactly; the real one balances the parts),
 * so an unreadable or impossible value gives the kernel default with
 * `known: false`: what reports the range to users must say it is unknown.
 */
export async function readPortRange(
  procfs: string,
  read: FileReader = readOptional,
): Promise<PortRange> {
  try {
    const text = await readSysctl(procfs, PORT_RANGE.name, read);
    const values = text === null ? undefined : problemWith(PORT_RANGE, text).values;
    if (values) return { range: [values[0]!, values[1]!], known: true };
  } catch {
    // unreadable: unknown
  }
  return { range: [...DEFAULT_PORT_RANGE], known: false };
}

/** Sysctl values by dotted name, and what was wrong with the files that exist. */
export class SysctlValues extends Map<string, number> {
  readonly problems: ProcfsProblem[] = [];
}

async function readOne(
  procfs: string,
  spec: SysctlSpec,
  out: SysctlValues,
  read: FileReader,
): Promise<void> {
  const path = sysctlPath(procfs, spec.name);
  let text: string | null;
  try {
    text = await readSysctl(procfs, spec.name, read);
  } catch (error) {
    out.problems.push({ path, message: `cannot be read: ${(error as Error).message}` });
    return;
  }
  if (text === null) return; // not on this kernel, or not in this namespace
  const { values, message } = problemWith(spec, text);
  if (!values) {
    out.problems.push({ path, message: message! });
    return;
  }
  const parts = spec.parts ?? [];
  if (parts.length === 0) out.set(spec.name, values[0]!);
  parts.forEach((part, p) => out.set(`${spec.name}.${part}`, values[p]!));
}

/**
 * Every listed sysctl this kernel has, by dotted name; vectors as one
 * entry per part ("net.ipv4.ip_local_port_range.min"). Absent sysctls are
 * left out; unreadable ones and values the kernel could not hold are left
 * out and listed in `problems`.
 */
export async function readSysctlValues(
  procfs: string,
  read: FileReader = readOptional,
): Promise<SysctlValues> {
  const out = new SysctlValues();
  // Read at once (a namespace reader batches them into one trip), kept in list order.
  const parts = SYSCTLS.map(() => new SysctlValues());
  await Promise.all(SYSCTLS.map((spec, i) => readOne(procfs, spec, parts[i]!, read)));
  for (const part of parts) {
    for (const [name, value] of part) out.set(name, value);
    out.problems.push(...part.problems);
  }
  return out;
}
