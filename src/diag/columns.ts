// The columns a batch carries, as this side expects them: name, typed array,
// values per row and group, in the layout order of native/columns.h. A test
// holds this list against the addon's own (addon.columns), and the checks at
// the bottom hold it against the Columns interfaces in native.ts, so the
// three cannot drift apart.
import type {
  BaseColumns,
  Columns,
  InfoColumns,
  MeminfoColumns,
  NativeColumn,
  SkmemColumns,
} from './native';

export const COLUMNS = [
  { name: 'family', array: 'Uint8Array', width: 1, group: 'base' },
  { name: 'protocol', array: 'Uint16Array', width: 1, group: 'base' },
  { name: 'state', array: 'Uint8Array', width: 1, group: 'base' },
  { name: 'timer', array: 'Uint8Array', width: 1, group: 'base' },
  { name: 'retransmits', array: 'Uint8Array', width: 1, group: 'base' },
  { name: 'shutdown', array: 'Uint8Array', width: 1, group: 'base' },
  { name: 'expires', array: 'Uint32Array', width: 1, group: 'base' },
  { name: 'receiveQueue', array: 'Uint32Array', width: 1, group: 'base' },
  { name: 'sendQueue', array: 'Uint32Array', width: 1, group: 'base' },
  { name: 'uid', array: 'Uint32Array', width: 1, group: 'base' },
  { name: 'inode', array: 'Uint32Array', width: 1, group: 'base' },
  { name: 'interfaceIndex', array: 'Uint32Array', width: 1, group: 'base' },
  { name: 'cookie', array: 'BigUint64Array', width: 1, group: 'base' },
  { name: 'cgroupId', array: 'BigUint64Array', width: 1, group: 'base' },
  { name: 'localAddress', array: 'Uint8Array', width: 16, group: 'base' },
  { name: 'remoteAddress', array: 'Uint8Array', width: 16, group: 'base' },
  { name: 'localPort', array: 'Uint16Array', width: 1, group: 'base' },
  { name: 'remotePort', array: 'Uint16Array', width: 1, group: 'base' },
  { name: 'tcpInfoLength', array: 'Uint16Array', width: 1, group: 'info' },
  { name: 'rtt', array: 'Uint32Array', width: 1, group: 'info' },
  { name: 'rttVar', array: 'Uint32Array', width: 1, group: 'info' },
  { name: 'minRtt', array: 'Uint32Array', width: 1, group: 'info' },
  { name: 'rto', array: 'Uint32Array', width: 1, group: 'info' },
  { name: 'sndCwnd', array: 'Uint32Array', width: 1, group: 'info' },
  { name: 'infoRetransmits', array: 'Uint8Array', width: 1, group: 'info' },
  { name: 'probes', array: 'Uint8Array', width: 1, group: 'info' },
  { name: 'backoff', array: 'Uint8Array', width: 1, group: 'info' },
  { name: 'infoOptions', array: 'Uint8Array', width: 1, group: 'info' },
  { name: 'totalRetrans', array: 'Uint32Array', width: 1, group: 'info' },
  { name: 'lost', array: 'Uint32Array', width: 1, group: 'info' },
  { name: 'unacked', array: 'Uint32Array', width: 1, group: 'info' },
  { name: 'lastDataSent', array: 'Uint32Array', width: 1, group: 'info' },
  { name: 'lastDataRecv', array: 'Uint32Array', width: 1, group: 'info' },
  { name: 'lastAckRecv', array: 'Uint32Array', width: 1, group: 'info' },
  { name: 'notsentBytes', array: 'Uint32Array', width: 1, group: 'info' },
  { name: 'segsOut', array: 'Uint32Array', width: 1, group: 'info' },
  { name: 'segsIn', array: 'Uint32Array', width: 1, group: 'info' },
  { name: 'bytesAcked', array: 'Float64Array', width: 1, group: 'info' },
  { name: 'bytesReceived', array: 'Float64Array', width: 1, group: 'info' },
  { name: 'bytesSent', array: 'Float64Array', width: 1, group: 'info' },
  { name: 'bytesRetrans', array: 'Float64Array', width: 1, group: 'info' },
  { name: 'deliveryRate', array: 'Float64Array', width: 1, group: 'info' },
  { name: 'pacingRate', array: 'Float64Array', width: 1, group: 'info' },
  { name: 'skmemLength', array: 'Uint8Array', width: 1, group: 'skmem' },
  { name: 'skmem', array: 'Uint32Array', width: 9, group: 'skmem' },
  { name: 'meminfoLength', array: 'Uint8Array', width: 1, group: 'meminfo' },
  { name: 'meminfo', array: 'Uint32Array', width: 4, group: 'meminfo' },
] as const satisfies readonly NativeColumn[];

export type ColumnSpec = (typeof COLUMNS)[number];
export type ColumnName = ColumnSpec['name'];
export type ColumnGroupName = ColumnSpec['group'];

interface ArrayTypes {
  Uint8Array: Uint8Array;
  Uint16Array: Uint16Array;
  Uint32Array: Uint32Array;
  BigUint64Array: BigUint64Array;
  Float64Array: Float64Array;
}

/** The columns of one group as an object type, from the list above. */
export type ColumnsOfGroup<G extends ColumnGroupName> = {
  [C in Extract<ColumnSpec, { group: G }> as C['name']]: ArrayTypes[C['array']];
};

// Type-level checks: each interface has exactly the keys of its group in
// the list, each with the typed array the list names. A column added,
// removed or retyped on one side only fails `tsc` here.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Assert<T extends true> = T;
export type ColumnListMatchesInterfaces = [
  Assert<Same<BaseColumns, ColumnsOfGroup<'base'>>>,
  Assert<Same<InfoColumns, ColumnsOfGroup<'info'>>>,
  Assert<Same<SkmemColumns, ColumnsOfGroup<'skmem'>>>,
  Assert<Same<MeminfoColumns, ColumnsOfGroup<'meminfo'>>>,
];

const ARRAY_TYPES = { Uint8Array, Uint16Array, Uint32Array, BigUint64Array, Float64Array };
const GROUP_BITS: Record<ColumnGroupName, number> = { base: 0, info: 1, skmem: 2, meminfo: 4 };

/** Where one column sits in a batch buffer. */
export interface ColumnSlot {
  name: ColumnName;
  array: (typeof ARRAY_TYPES)[ColumnSpec['array']];
  byteOffset: number;
  width: number;
}

/** Every column: the mask of the whole list (bit i = COLUMNS[i], as native/columns.h numbers them). */
export const ALL_COLUMNS = 2 ** COLUMNS.length - 1;
const COLUMN_INDEX = new Map<string, number>(COLUMNS.map((column, index) => [column.name, index]));

/** The column mask of `names` (family always in: a batch's buffer is found through it). */
export function columnMask(names: readonly ColumnName[]): number {
  let mask = 1; // family, index 0
  for (const name of new Set(names)) {
    const index = COLUMN_INDEX.get(name);
    if (index === undefined) throw new TypeError(`Unknown column ${String(name)}`);
    if (index > 0) mask += 2 ** index;
  }
  return mask;
}

const layouts = new Map<string, readonly ColumnSlot[]>();

/**
 * The columns of a batch buffer of `capacity` rows with `groups` (bits:
 * info 1, skmem 2, meminfo 4) and the columns of `mask`, as
 * native/columns.cc lays them out: in list order, the groups asked for,
 * each column on an 8-byte boundary. A unit test holds it against the
 * addon's own views.
 */
export function batchLayout(
  capacity: number,
  groups: number,
  mask: number = ALL_COLUMNS,
): readonly ColumnSlot[] {
  const key = `${capacity}:${groups}:${mask}`;
  const known = layouts.get(key);
  if (known) return known;
  const slots: ColumnSlot[] = [];
  let offset = 0;
  for (const [index, column] of COLUMNS.entries()) {
    if (column.group !== 'base' && (groups & GROUP_BITS[column.group]) === 0) continue;
    if (index > 0 && Math.floor(mask / 2 ** index) % 2 === 0) continue;
    const array = ARRAY_TYPES[column.array];
    offset = (offset + 7) & ~7;
    slots.push({ name: column.name, array, byteOffset: offset, width: column.width });
    offset += array.BYTES_PER_ELEMENT * column.width * capacity;
  }
  layouts.set(key, slots);
  return slots;
}

/**
 * Views of `count` rows over a batch buffer: made here rather than by the
 * addon, whose Node-API calls (a typed array and a named property per
 * column) cost several times more per batch.
 */
export function columnViews(
  layout: readonly ColumnSlot[],
  buffer: ArrayBuffer,
  count: number,
): Columns {
  const columns: Record<string, unknown> = {};
  for (const slot of layout) {
    columns[slot.name] = new slot.array(buffer, slot.byteOffset, count * slot.width);
  }
  return columns as unknown as Columns;
}
