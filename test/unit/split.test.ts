// The parallel scan's pure parts: the port split must put every socket in
// exactly one part (checked through the compiled kernel program's own
// decision model), and the stream merge must interleave, finish, fail and
// stop cleanly. scan-parallel-live.test.ts runs the split on real sockets.
import t from 'tap';
import { portExpressionMatches } from '../../src/diag';
import { higherPortSplit, mergeStreams } from '../../src/scan/split';

const PORTS = [
  0, 1, 22, 80, 443, 1023, 1024, 1025, 8080, 20000, 32767, 32768, 32769, 46883, 46884, 50000, 60999,
  61000, 65534, 65535,
];

t.test('every socket lands in exactly one part', async (t) => {
  const ranges: [number, number][] = [
    [32768, 60999],
    [1024, 65535],
    [49152, 65535],
    [40000, 40000],
    [0, 65535],
    [60999, 32768], // written the wrong way round: still a partition
  ];
  for (const range of ranges) {
    for (let parts = 1; parts <= 8; parts++) {
      const split = higherPortSplit(range, parts);
      let bad = 0;
      for (const local of PORTS) {
        for (const remote of PORTS) {
          const owners = split.filter((part) => portExpressionMatches(part, local, remote)).length;
          if (owners !== 1) bad++;
        }
      }
      t.equal(bad, 0, `${range.join('-')} in ${parts} parts (${split.length} made)`);
      t.ok(split.length >= 1 && split.length <= parts, 'never more parts than asked');
    }
  }
  t.equal(higherPortSplit([32768, 60999], 2).length, 2);
  t.throws(() => higherPortSplit([32768, 60999], 0), RangeError);
});

t.test('parts balance when the higher port is uniform over the ephemeral range', async (t) => {
  const range: [number, number] = [32768, 60999];
  for (const parts of [2, 3, 4]) {
    const split = higherPortSplit(range, parts);
    const counts = new Array(split.length).fill(0);
    // Client side (ephemeral -> 443) and server side (443 <- ephemeral).
    for (let port = range[0]; port <= range[1]; port++) {
      for (const [local, remote] of [
        [port, 443],
        [8080, port],
      ]) {
        counts[split.findIndex((part) => portExpressionMatches(part, local!, remote!))]++;
      }
    }
    const share = counts.map((n) => n / (2 * (range[1] - range[0] + 1)));
    t.ok(
      share.every((s) => Math.abs(s - 1 / parts) < 0.01),
      `${parts} parts: shares ${share.map((s) => s.toFixed(3)).join(', ')}`,
    );
  }
});

async function* source<T>(items: T[], delays: number[], fail?: Error): AsyncGenerator<T> {
  for (const [i, item] of items.entries()) {
    await new Promise((resolve) => setTimeout(resolve, delays[i] ?? 0));
    yield item;
  }
  if (fail) throw fail;
}

t.test('mergeStreams interleaves in arrival order and ends when all sources end', async (t) => {
  const seen: string[] = [];
  for await (const item of mergeStreams([
    source(['a1', 'a2', 'a3'], [1, 30, 1]),
    source(['b1', 'b2'], [10, 5]),
  ])) {
    seen.push(item);
  }
  t.same(
    seen.filter((s) => s[0] === 'a'),
    ['a1', 'a2', 'a3'],
    "a source's own order is kept",
  );
  t.same(seen.sort(), ['a1', 'a2', 'a3', 'b1', 'b2'], 'every item once');
  const order: string[] = [];
  for await (const item of mergeStreams([
    source(['slow'], [40]),
    source(['fast1', 'fast2'], [1, 1]),
  ])) {
    order.push(item);
  }
  t.same(order, ['fast1', 'fast2', 'slow'], 'a slow source does not hold back a fast one');
  const none: unknown[] = [];
  for await (const item of mergeStreams([source([], []), source([], [])])) none.push(item);
  t.same(none, [], 'empty sources');
});

t.test('a failing source fails the merge and closes the others', async (t) => {
  let otherClosed = false;
  async function* other(): AsyncGenerator<number> {
    try {
      for (let i = 0; ; i++) {
        await new Promise((resolve) => setTimeout(resolve, 2));
        yield i;
      }
    } finally {
      otherClosed = true;
    }
  }
  const boom = new Error('kernel said no');
  const seen: number[] = [];
  await t.rejects(async () => {
    for await (const item of mergeStreams<number>([other(), source([100], [5], boom)]))
      seen.push(item);
  }, boom);
  t.ok(otherClosed, 'the healthy source was closed');
  t.ok(seen.includes(100), 'items before the failure were delivered');
});

t.test('stopping early closes every source', async (t) => {
  const closed: number[] = [];
  const endless = (id: number) =>
    (async function* () {
      try {
        for (;;) {
          await new Promise((resolve) => setTimeout(resolve, 1));
          yield id;
        }
      } finally {
        closed.push(id);
      }
    })();
  let n = 0;
  for await (const _ of mergeStreams([endless(1), endless(2)])) if (++n === 5) break;
  t.same(closed.sort(), [1, 2]);
});
