// Network sysctls under /proc/sys/net. Note for callers: unlike
// /proc/<pid>/net/*, /proc/sys/net answers for the network namespace of the
// process that reads it, whatever procfs path is given.
import { readOptional } from './read';

const INTEGER = /^-?\d+$/;

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
