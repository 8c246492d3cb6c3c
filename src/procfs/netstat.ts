// Pure parsers for the kernel's SNMP-style counter files:
//   /proc/net/netstat, /proc/net/snmp  "Prefix: Name1 Name2 ..." then "Prefix: v1 v2 ..."
//   /proc/net/snmp6                    "Ip6InReceives   123", one per line
// Fields are matched by header name, never by position: the set and order
// change between kernels (PAWSPassive left with tcp_tw_recycle, PAWSOldAck
// arrived in 6.14), and a parser that assumed a layout has crashed on old
// kernels before (categraf PR #494). Bad input is skipped, never thrown.
import { FIELD_NAME, type FileReader, INTEGER, type ProcfsProblem, readOptional } from './read';

export interface SnmpCounter {
  /** Kernel group as printed: TcpExt, IpExt, MPTcpExt, Tcp, Udp, IcmpMsg, Ip6, Icmp6, ... */
  prefix: string;
  /** Field name as printed, case preserved: ListenOverflows, CurrEstab, InType3, ... */
  field: string;
  /** Counters are u64 in the kernel; above 2^53 they lose precision as Numbers, which is fine for rates. */
  value: number;
}

interface Header {
  prefix: string;
  names: string[];
}

const SKIPPED = { prefix: '', tokens: [] as string[] };

function splitPrefixed(
  line: string,
  groups?: ReadonlySet<string>,
): { prefix: string; tokens: string[] } | null {
  const colon = line.indexOf(':');
  if (colon <= 0) return null;
  const prefix = line.slice(0, colon).trim();
  if (!FIELD_NAME.test(prefix)) return null;
  if (groups && !groups.has(prefix)) return SKIPPED;
  const tokens = line
    .slice(colon + 1)
    .trim()
    .split(/\s+/)
    .filter((token) => token !== '');
  return { prefix, tokens };
}

function isHeader(tokens: string[]): boolean {
  return tokens.length > 0 && tokens.every((token) => FIELD_NAME.test(token));
}

/**
 * Pairs a header with its value line. When the counts differ (a truncated
 * read) only the leading fields both lines have are kept: the kernel prints
 * both lines from the same table in the same order, so a short line can only
 * have lost its tail.
 */
function pairFields(header: Header, values: string[], out: SnmpCounter[]): void {
  const count = Math.min(header.names.length, values.length);
  for (let i = 0; i < count; i++) {
    const field = header.names[i];
    const token = values[i];
    if (field === undefined || token === undefined || !INTEGER.test(token)) continue;
    out.push({ prefix: header.prefix, field, value: Number(token) });
  }
}

/**
 * Parses /proc/net/netstat or /proc/net/snmp text (any prefixes, or only
 * those in `groups`: the lines of the others are not even split).
 */
export function parseSnmpTable(text: string, groups?: ReadonlySet<string>): SnmpCounter[] {
  const out: SnmpCounter[] = [];
  let header: Header | null = null;
  for (const line of text.split('\n')) {
    const parsed = splitPrefixed(line, groups);
    if (parsed === SKIPPED) {
      header = null;
      continue;
    }
    if (parsed === null) {
      // A blank or junk line breaks any pairing in progress.
      header = null;
      continue;
    }
    if (header !== null && header.prefix === parsed.prefix) {
      pairFields(header, parsed.tokens, out);
      header = null;
    } else {
      // A header without a value line is dropped when the next header arrives.
      header = isHeader(parsed.tokens) ? { prefix: parsed.prefix, names: parsed.tokens } : null;
    }
  }
  return out;
}

// The group is the leading letters plus the 6 (Ip6, Icmp6, Udp6, UdpLite6):
// letters cannot include a digit, so the first digit must be that 6.
const SNMP6_NAME = /^([A-Za-z]+6)([A-Za-z][A-Za-z0-9_]*)$/;

/** Parses /proc/net/snmp6 text: "Name value" per line. */
export function parseSnmp6(text: string): SnmpCounter[] {
  const out: SnmpCounter[] = [];
  for (const line of text.split('\n')) {
    const tokens = line.trim().split(/\s+/);
    if (tokens.length !== 2) continue;
    const [name = '', token = ''] = tokens;
    const match = SNMP6_NAME.exec(name);
    if (match === null || !INTEGER.test(token)) continue;
    out.push({ prefix: match[1] ?? '', field: match[2] ?? '', value: Number(token) });
  }
  return out;
}

export interface SnmpFiles {
  /** null when the file does not exist (snmp6 is absent with IPv6 disabled). */
  netstat: SnmpCounter[] | null;
  snmp: SnmpCounter[] | null;
  snmp6: SnmpCounter[] | null;
  /** What was wrong with files that exist; their bad values are left out above. */
  problems: ProcfsProblem[];
}

/** Tcp MaxConn is the one field the kernel prints signed (%ld, and it is -1); the rest are %lu. */
const SIGNED_FIELDS = new Set(['Tcp.MaxConn']);

/**
 * The counters of one file that the kernel could have printed. A file
 * that exists and yields none is wrong (truncated, not procfs, another
 * format), not a kernel without counters.
 */
function sound(path: string, counters: SnmpCounter[], problems: ProcfsProblem[]): SnmpCounter[] {
  if (counters.length === 0) {
    problems.push({
      path,
      message:
        'holds no counter that parses ("Group: Name ..." lines each followed by "Group: value ..."): is --path.procfs a mounted procfs?',
    });
  }
  return counters.filter((counter) => {
    if (counter.value >= 0) return true;
    const key = `${counter.prefix}.${counter.field}`;
    if (SIGNED_FIELDS.has(key)) return true;
    problems.push({
      path,
      message: `${key} is ${counter.value}, and the kernel prints its counters unsigned`,
    });
    return false;
  });
}

/**
 * Reads the three files once each, concurrently. `procfs` is /proc or
 * /proc/<pid>. Without `snmp6` that file is not read (null, as when IPv6 is
 * off): a namespace serves only the incident counters, none of them IPv6's.
 */
export async function readSnmpFiles(
  procfs: string,
  read: FileReader = readOptional,
  { snmp6: withSnmp6 = true, groups }: { snmp6?: boolean; groups?: ReadonlySet<string> } = {},
): Promise<SnmpFiles> {
  const paths = [`${procfs}/net/netstat`, `${procfs}/net/snmp`, `${procfs}/net/snmp6`] as const;
  const [netstat, snmp, snmp6] = await Promise.all(
    paths.map((path, i) => (i < 2 || withSnmp6 ? read(path) : null)),
  );
  const problems: ProcfsProblem[] = [];
  const check = (index: number, text: string | null | undefined, parse: typeof parseSnmp6) =>
    text === null || text === undefined ? null : sound(paths[index]!, parse(text), problems);
  const table = (text: string) => parseSnmpTable(text, groups);
  return {
    netstat: check(0, netstat, table),
    snmp: check(1, snmp, table),
    snmp6: check(2, snmp6, parseSnmp6),
    problems,
  };
}
