// Reading procfs without treating "this kernel has no such file" as a failure:
// /proc/net/snmp6 is gone when IPv6 is disabled, sysctls come and go between
// kernel versions (tcp_tw_recycle left in 4.12, tcp_tw_reuse_delay arrived in
// 6.x). Callers decide whether an absent file matters.
import { readFileSync } from 'node:fs';
import { ProcfsError } from '../errors';

/** Error codes that mean "not there", as opposed to "there but unreadable". */
const ABSENT_CODES = new Set(['ENOENT', 'ENOTDIR']);

/**
 * The file's text, or null when it does not exist. Other errors propagate.
 *
 * Read synchronously on purpose: procfs files are generated from kernel
 * memory in microseconds and never wait on a disk, while fs.promises costs
 * several thread-pool round trips per file (about 30 files a scrape: 3-5 ms
 * per collector measured, against well under 1 ms this way).
 */
/** Reads a file's text, null when it does not exist: procfs here, or from inside a namespace. */
export type FileReader = (path: string) => Promise<string | null>;

export async function readOptional(path: string): Promise<string | null> {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== undefined && ABSENT_CODES.has(code)) return null;
    throw error;
  }
}

/** A field or group name in the kernel's counter files; anything else is junk. */
export const FIELD_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;
/** A decimal integer as procfs prints it (Tcp MaxConn is -1: signed). */
export const INTEGER = /^-?\d+$/;

/**
 * Something wrong with a file that exists: nothing in it parses, a value
 * the kernel could not have printed, a read that failed. The readers keep
 * what is sound and list the rest; the collector that reads the file fails
 * with the first problem, so the scrape says `success 0` instead of
 * serving a subset as if it were everything.
 */
export interface ProcfsProblem {
  path: string;
  message: string;
}

/** Throws the first problem as a ProcfsError (ERR_PROCFS), with how many others there are. */
export function throwIfProblems(problems: readonly ProcfsProblem[]): void {
  const [first, ...others] = problems;
  if (!first) return;
  const more =
    others.length > 0 ? ` (and ${others.length} more problem${others.length > 1 ? 's' : ''})` : '';
  throw new ProcfsError(first.path, `${first.message}${more}`);
}
