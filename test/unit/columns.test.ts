// The column list in three places must agree: native/columns.h (exported by
// the addon as `columns`), src/diag/columns.ts (checked against the Columns
// interfaces by tsc) and the typed arrays a parsed batch really carries.
import t from 'tap';
import { ALL_COLUMNS, batchLayout, COLUMNS, columnMask, columnViews } from '../../src/diag/columns';
import { resolveDumpOptions } from '../../src/diag/dump';
import { addon } from '../../src/diag/native';
import { concat, done, row } from '../helpers/nlbuild';

/** TCP rows of seq 7 parsed into a batch of `batchRows` with `groups`. */
function parseRows(bytes: Uint8Array, batchRows: number, groups: number, columns?: number) {
  return addon.parse(bytes, {
    family: 2,
    protocol: 6,
    states: 0xfff,
    extensions: 0,
    legacy: false,
    timeoutMs: 1000,
    batchRows,
    groups,
    seq: 7,
    ...(columns === undefined ? {} : { columns }),
  });
}

t.test('the TypeScript column list is the addon column list', async (t) => {
  t.same(addon.columns, COLUMNS, 'same names, arrays, widths and groups, in layout order');
  t.equal(new Set(addon.columns.map((c) => c.name)).size, addon.columns.length, 'names unique');
});

t.test('a parsed batch carries exactly the listed columns of its groups', async (t) => {
  const count = 3;
  const bytes = concat(row(7), row(7), row(7), done(7));
  const groups = { base: 0, info: 1, skmem: 2, meminfo: 4 } as const;
  for (const [name, bits] of [
    ['base only', 0],
    ['info', 1],
    ['every group', 7],
  ] as const) {
    const result = parseRows(bytes, 8, bits);
    t.equal(result.count, count, `${name}: three rows`);
    const expected = COLUMNS.filter((c) => c.group === 'base' || (groups[c.group] & bits) !== 0);
    t.same(
      Object.keys(result.columns),
      expected.map((c) => c.name),
      `${name}: column names`,
    );
    for (const column of expected) {
      const array = (
        result.columns as unknown as Record<string, ArrayBufferView & { length: number }>
      )[column.name];
      t.equal(
        array?.constructor.name,
        column.array,
        `${name}: ${column.name} is a ${column.array}`,
      );
      t.equal(
        array?.length,
        count * column.width,
        `${name}: ${column.name} has ${column.width} per row`,
      );
    }
  }
});

t.test("the views made in JavaScript are the addon's views", async (t) => {
  // Dumps hand over a buffer and a count; src/diag/columns.ts makes the
  // views. They must sit where the parser wrote, for every group mix.
  const bytes = concat(row(7), row(7), row(7), done(7));
  for (const groups of [0, 1, 2, 3, 4, 7]) {
    for (const capacity of [3, 8, 1000]) {
      const result = parseRows(bytes, capacity, groups);
      const native = result.columns as unknown as Record<string, ArrayBufferView>;
      const buffer = result.columns.family.buffer as ArrayBuffer;
      const layout = batchLayout(capacity, groups);
      t.same(
        layout.map((slot) => slot.name),
        Object.keys(native),
        `groups ${groups}, ${capacity} rows: the same columns`,
      );
      const ours = columnViews(layout, buffer, result.count) as unknown as Record<
        string,
        ArrayBufferView & ArrayLike<number | bigint>
      >;
      for (const slot of layout) {
        const theirs = native[slot.name] as ArrayBufferView & ArrayLike<number | bigint>;
        const mine = ours[slot.name]!;
        t.equal(mine.byteOffset, theirs.byteOffset, `groups ${groups}: ${slot.name} offset`);
        t.equal(mine.length, theirs.length, `groups ${groups}: ${slot.name} length`);
        t.equal(mine.constructor, theirs.constructor, `groups ${groups}: ${slot.name} type`);
        t.same(Array.from(mine), Array.from(theirs), `groups ${groups}: ${slot.name} values`);
      }
    }
  }
  t.equal(batchLayout(8, 3), batchLayout(8, 3), 'a layout is made once per shape');
});

t.test('a column mask: only its columns are written, where the layout says', async (t) => {
  const bytes = concat(row(7), row(7), row(7), done(7));
  const full = parseRows(bytes, 8, 7);
  const fullColumns = full.columns as unknown as Record<string, ArrayLike<number | bigint>>;
  const masks: [string, readonly (typeof COLUMNS)[number]['name'][]][] = [
    ['family only', []],
    ['the scan set', ['state', 'localPort', 'remoteAddress', 'tcpInfoLength', 'rtt', 'skmem']],
    ['the last columns', ['meminfoLength', 'meminfo', 'pacingRate']],
    ['every column', COLUMNS.map((c) => c.name)],
  ];
  for (const [name, names] of masks) {
    const mask = columnMask(names);
    const wanted = new Set<string>(['family', ...names]);
    for (const groups of [0, 1, 7]) {
      const result = parseRows(bytes, 8, groups, mask);
      t.equal(result.count, 3, `${name}, groups ${groups}: three rows`);
      const native = result.columns as unknown as Record<
        string,
        ArrayBufferView & ArrayLike<number | bigint>
      >;
      const groupBits = { base: 0, info: 1, skmem: 2, meminfo: 4 } as const;
      const expected = COLUMNS.filter(
        (c) => wanted.has(c.name) && (c.group === 'base' || (groupBits[c.group] & groups) !== 0),
      ).map((c) => c.name);
      t.same(Object.keys(native), expected, `${name}, groups ${groups}: the columns handed out`);
      for (const column of expected) {
        t.same(
          Array.from(native[column]!),
          Array.from(fullColumns[column]!),
          `${name}, groups ${groups}: ${column} as a full parse has it`,
        );
      }
      const layout = batchLayout(8, groups, mask);
      t.same(
        layout.map((slot) => slot.name),
        expected,
        `${name}, groups ${groups}: the layout's columns`,
      );
      const ours = columnViews(
        layout,
        result.columns.family.buffer as ArrayBuffer,
        3,
      ) as unknown as Record<string, ArrayBufferView>;
      for (const slot of layout) {
        t.equal(
          ours[slot.name]!.byteOffset,
          native[slot.name]!.byteOffset,
          `${name}, groups ${groups}: ${slot.name} where the addon put it`,
        );
      }
      if (names.length < COLUMNS.length - 1 && groups === 7) {
        t.ok(
          (result.columns.family.buffer as ArrayBuffer).byteLength <
            (full.columns.family.buffer as ArrayBuffer).byteLength,
          `${name}: a smaller buffer than all columns need`,
        );
      }
    }
  }
  t.equal(columnMask(COLUMNS.map((c) => c.name)), ALL_COLUMNS, 'every name is the full mask');
  t.equal(columnMask(['family', 'family']), 1, 'family counted once, and always in');
  t.throws(
    () => columnMask(['nope' as never]),
    { name: 'TypeError', message: /Unknown column nope/ },
    'an unknown column name',
  );
  for (const bad of [-1, 0.5, ALL_COLUMNS + 1, Number.NaN, 2 ** 60]) {
    t.throws(
      () => parseRows(bytes, 8, 0, bad),
      { name: 'RangeError', message: /column mask/ },
      `the addon refuses the mask ${bad}`,
    );
  }
  t.throws(
    () => resolveDumpOptions({ columns: 'state' as never }),
    { name: 'TypeError', message: /array of column names for columns/ },
    'columns must be an array',
  );
  t.equal(
    resolveDumpOptions({ columns: ['state'] }).params.columns,
    columnMask(['state']),
    'dump options carry the mask',
  );
  t.equal(resolveDumpOptions({}).params.columns, undefined, 'no columns option: all columns');
});
