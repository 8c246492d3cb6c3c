// Pure parser for /proc/net/sockstat and /proc/net/sockstat6:
//   sockets: used 12
//   TCP: inuse 4 orphan 0 tw 0 alloc 6 mem 1
//   FRAG: inuse 0 memory 0
// Each line is a protocol followed by key/value pairs. Values are as the
// kernel prints them: TCP/UDP `mem` in pages, FRAG `memory` in bytes.
import { execFile } from 'node:child_process';
import { FIELD_NAME, type FileReader, INTEGER, type ProcfsProblem, readOptional } from './read';

export interface SockstatValue {
  /** As printed: sockets, TCP, UDP, UDPLITE, RAW, FRAG, TCP6, ... */
  protocol: string;
  /** As printed: used, inuse, orphan, tw, alloc, mem, memory. */
  key: string;
  value: number;
}

function parseLine(line: string, out: SockstatValue[]): void {
  const colon = line.indexOf(':');
  if (colon <= 0) return;
  const protocol = line.slice(0, colon).trim();
  if (!FIELD_NAME.test(protocol)) return;
  const tokens = line
    .slice(colon + 1)
    .trim()
    .split(/\s+/);
  // Pairs are independent, so one bad pair does not cost the others.
  for (let i = 0; i + 1 < tokens.length; i += 2) {
    const key = tokens[i] ?? '';
    const token = tokens[i + 1] ?? '';
    if (FIELD_NAME.test(key) && INTEGER.test(token))
      out.push({ protocol, key, value: Number(token) });
  }
}

/** Parses sockstat or sockstat6 text. Junk lines and pairs are skipped. */
export function parseSockstat(text: string): SockstatValue[] {
  const out: SockstatValue[] = [];
  for (const line of text.split('\n')) parseLine(line, out);
  return out;
}

export interface SockstatFiles {
  sockstat: SockstatValue[] | null;
  /** null when IPv6 is disabled. */
  sockstat6: SockstatValue[] | null;
  /** What was wrong with files that exist; their bad values are left out above. */
  problems: ProcfsProblem[];
}

/**
 * The values of one file that the kernel could have printed: every one is
 * a count or an amount that the kernel clamps at 0 before printing. A file
 * that exists and yields none is wrong, not empty.
 */
function sound(path: string, values: SockstatValue[], problems: ProcfsProblem[]): SockstatValue[] {
  if (values.length === 0) {
    problems.push({ path, message: 'holds no value that parses ("PROTO: key value ..." lines)' });
  }
  return values.filter((entry) => {
    if (entry.value >= 0) return true;
    problems.push({
      path,
      message: `${entry.protocol} ${entry.key} is ${entry.value}: the kernel never prints a negative count`,
    });
    return false;
  });
}

/** Reads both files once each, concurrently. `procfs` is /proc or /proc/<pid>. */
export async function readSockstatFiles(
  procfs: string,
  read: FileReader = readOptional,
): Promise<SockstatFiles> {
  const paths = [`${procfs}/net/sockstat`, `${procfs}/net/sockstat6`] as const;
  const [sockstat, sockstat6] = await Promise.all(paths.map((path) => read(path)));
  const problems: ProcfsProblem[] = [];
  const check = (index: number, text: string | null | undefined) =>
    text === null || text === undefined
      ? null
      : sound(paths[index]!, parseSockstat(text), problems);
  return { sockstat: check(0, sockstat), sockstat6: check(1, sockstat6), problems };
}

/** What we assume when getconf cannot tell us: x86_64 and most arm64 kernels. */
export const FALLBACK_PAGE_SIZE = 4096;

let pageSizePromise: Promise<number> | undefined;

/**
 * The kernel's page size, asked of `getconf PAGESIZE` once per process.
 * Node has no API for it, and guessing is wrong on 16K/64K-page arm64 and
 * ppc64 kernels, where sockstat `mem` would be off by 4 to 16 times.
 */
export function pageSize(): Promise<number> {
  pageSizePromise ??= new Promise((resolve) => {
    execFile('getconf', ['PAGESIZE'], { timeout: 5000 }, (error, stdout) => {
      const size = Number(stdout.trim());
      resolve(error === null && Number.isInteger(size) && size > 0 ? size : FALLBACK_PAGE_SIZE);
    });
  });
  return pageSizePromise;
}
