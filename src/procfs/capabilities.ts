// The capabilities this process holds (CapEff in /proc/self/status), so that
// a collector that needs one can say which is missing instead of guessing
// from the errno of whatever failed first.
import { readFileSync } from 'node:fs';

/** The capability numbers the exporter asks about (linux/capability.h). */
export const CAPABILITIES = {
  CAP_DAC_READ_SEARCH: 2,
  CAP_NET_ADMIN: 12,
  CAP_SYS_PTRACE: 19,
  CAP_SYS_ADMIN: 21,
} as const;

export type Capability = keyof typeof CAPABILITIES;

/** Parses the CapEff line of a status file; null when it has none. */
export function parseEffective(status: string): bigint | null {
  const hex = /^CapEff:\s*([0-9a-f]+)$/m.exec(status)?.[1];
  return hex === undefined ? null : BigInt(`0x${hex}`);
}

/**
 * Which of `wanted` the process lacks. An unreadable or unparsable status
 * says nothing: then none is reported missing, and the operation's own
 * error speaks.
 */
export function missingCapabilities(
  wanted: readonly Capability[],
  status: () => string = () => readFileSync('/proc/self/status', 'utf8'),
): Capability[] {
  let effective: bigint | null;
  try {
    effective = parseEffective(status());
  } catch {
    return [];
  }
  if (effective === null) return [];
  return wanted.filter((name) => ((effective >> BigInt(CAPABILITIES[name])) & 1n) === 0n);
}
