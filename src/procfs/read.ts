// Reading procfs without treating "this kernel has no such file" as a failure:
// /proc/net/snmp6 is gone when IPv6 is disabled, sysctls come and go between
// kernel versions (tcp_tw_recycle left in 4.12, tcp_tw_reuse_delay arrived in
// 6.x). Callers decide whether an absent file matters.
import { readFileSync } from 'node:fs';

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
