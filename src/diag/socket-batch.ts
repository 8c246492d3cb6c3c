// A typed view over one batch of dumped sockets. Columns stay typed arrays;
// helpers turn single rows into strings only when a caller needs a label.
import { AF_INET, AF_INET6, TCP_STATES, timerName } from './constants';
import type { ColumnName } from './columns';
import { addon, type Columns, type InfoColumns } from './native';

export type InfoField = keyof Omit<InfoColumns, 'tcpInfoLength'>;

/** Byte offset at which each tcp_info field ends; a shorter payload lacks it. */
export const TCP_INFO_FIELD_ENDS: Readonly<Record<InfoField, number>> = addon.tcpInfoFieldEnds;

export function formatAddress(family: number, bytes: Uint8Array, offset: number): string {
  if (family === AF_INET) {
    return `${bytes[offset]}.${bytes[offset + 1]}.${bytes[offset + 2]}.${bytes[offset + 3]}`;
  }
  if (family !== AF_INET6) return '';
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) {
    groups.push((((bytes[offset + i] ?? 0) << 8) | (bytes[offset + i + 1] ?? 0)).toString(16));
  }
  // v4-mapped (::ffff:a.b.c.d), as ss prints it.
  if (groups.slice(0, 5).every((g) => g === '0') && groups[5] === 'ffff') {
    return `::ffff:${formatAddress(AF_INET, bytes, offset + 12)}`;
  }
  // Compress the longest run of zero groups (RFC 5952).
  let bestStart = -1;
  let bestLength = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLength && j - i > 1) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  if (bestStart < 0) return groups.join(':');
  const head = groups.slice(0, bestStart).join(':');
  const tail = groups.slice(bestStart + bestLength).join(':');
  return `${head}::${tail}`;
}

/**
 * A batch as a reader of only the columns `K` sees it: what a dump with
 * `columns: K[]` hands out, written so that `tsc` rejects a read of a column
 * the dump was not asked for. A full SocketBatch is one too.
 */
export type BatchOf<K extends ColumnName> = Omit<SocketBatch, 'columns'> & {
  readonly columns: Pick<Columns, K>;
};

export class SocketBatch {
  constructor(
    readonly count: number,
    readonly columns: Columns,
  ) {}

  get hasInfo(): boolean {
    return this.columns.tcpInfoLength !== undefined;
  }

  get hasSkmem(): boolean {
    return this.columns.skmem !== undefined;
  }

  /** True when the kernel sent tcp_info for `row` and it reaches `field`. */
  infoCovers(row: number, field: InfoField): boolean {
    const length = this.columns.tcpInfoLength?.[row] ?? 0;
    return length >= TCP_INFO_FIELD_ENDS[field];
  }

  stateName(row: number): string {
    return TCP_STATES[this.columns.state[row] ?? 0] ?? 'unknown';
  }

  timerName(row: number): string {
    return timerName(this.columns.timer[row] ?? 0);
  }

  localAddress(row: number): string {
    return formatAddress(this.columns.family[row] ?? 0, this.columns.localAddress, row * 16);
  }

  remoteAddress(row: number): string {
    return formatAddress(this.columns.family[row] ?? 0, this.columns.remoteAddress, row * 16);
  }

  /** One row as a plain object: for tests and debugging, never the hot path. */
  row(row: number): Record<string, number | bigint | string> {
    const out: Record<string, number | bigint | string> = {};
    for (const [name, column] of Object.entries(this.columns)) {
      const width = column.length / this.count;
      if (width === 1) out[name] = column[row] as number | bigint;
    }
    out.stateName = this.stateName(row);
    out.timerName = this.timerName(row);
    out.localAddress = this.localAddress(row);
    out.remoteAddress = this.remoteAddress(row);
    return out;
  }
}

/** The typed view of a dumped socket table, one batch at a time (the name the core issue uses). */
export { SocketBatch as SocketTable };
