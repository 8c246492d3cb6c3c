// kept(): a namespace's sysctls are read once per interval, shared by the
// callers meanwhile, and a failed read is not kept.
import t from 'tap';
import { kept } from '../../src/netns/reader';

t.test('kept reads again only after maxAge, and shares the read in flight', async (t) => {
  let now = 0;
  let reads = 0;
  const read = kept(
    async () => ++reads,
    60_000,
    () => now,
  );
  t.equal(await read(), 1, 'the first call reads');
  now = 59_999;
  t.equal(await read(), 1, 'within the interval: the kept value');
  now = 60_000;
  const [a, b] = await Promise.all([read(), read()]);
  t.same([a, b, reads], [2, 2, 2], 'at the interval: one new read, shared by both callers');
});

t.test('kept does not keep a failure', async (t) => {
  let fail = true;
  let reads = 0;
  const read = kept(
    async () => {
      reads++;
      if (fail) throw new Error('EACCES');
      return 'ok';
    },
    60_000,
    () => 0,
  );
  await t.rejects(read(), /EACCES/, 'the failure reaches the caller');
  fail = false;
  t.equal(await read(), 'ok', 'the next call reads again, within the interval');
  t.equal(reads, 2, 'two reads in all');
});

t.test('kept does not keep a value it is told is unsound', async (t) => {
  let reads = 0;
  let problems = ['/proc/sys/net/core/somaxconn: cannot be read'];
  const read = kept(
    async () => ({ read: ++reads, problems }),
    60_000,
    () => 0,
    (value) => value.problems.length === 0,
  );
  t.equal((await read()).read, 1, 'a read with a problem is served');
  problems = [];
  t.equal((await read()).read, 2, 'and read again at the next call');
  t.equal((await read()).read, 2, 'a sound one is kept');
});

t.test('kept with maxAge 0 reads every time', async (t) => {
  let reads = 0;
  const read = kept(
    async () => ++reads,
    0,
    () => 0,
  );
  await read();
  await read();
  t.equal(reads, 2, 'no keeping');
});
