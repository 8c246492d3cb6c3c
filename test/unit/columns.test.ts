// The column list in three places must agree: native/columns.h (exported by
// the addon as `columns`), src/diag/columns.ts (checked against the Columns
// interfaces by tsc) and the typed arrays a parsed batch really carries.
import t from 'tap';
import { COLUMNS } from '../../src/diag/columns';
import { addon } from '../../src/diag/native';
import { concat, done, row } from '../helpers/nlbuild';

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
    const result = addon.parse(bytes, {
      family: 2,
      protocol: 6,
      states: 0xfff,
      extensions: 0,
      legacy: false,
      timeoutMs: 1000,
      batchRows: 8,
      groups: bits,
      seq: 7,
    });
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
