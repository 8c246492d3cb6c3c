// --collector.sockets.parallel-dumps=0: when auto walks the TCP table once
// and when in two parts, from the walk times it is told.
import t from 'tap';
import {
  KEEP_SPLIT_RATIO,
  REPROBE_SCANS,
  SPLIT_AFTER_MS,
  START_SPLIT_RATIO,
  WalkChooser,
} from '../../src/scan/walk-choice';

/** Runs `scans` scans: each asks for its parts and reports `ms(parts)` for `rows`. */
function run(walks: WalkChooser, scans: number, rows: number, ms: (parts: number) => number) {
  const parts: number[] = [];
  for (let i = 0; i < scans; i++) {
    const p = walks.next();
    parts.push(p);
    walks.record(p, rows, ms(p));
  }
  return parts;
}

const ROWS = 1_000_000;
/** A split's share of the single walk's time between the start and keep ratios (85 %). */
const BETWEEN_RATIOS = (START_SPLIT_RATIO + KEEP_SPLIT_RATIO) / 2;
/** A single walk of ROWS rows taking `factor` times the split threshold. */
const singleMs = (factor: number) => SPLIT_AFTER_MS * factor;

t.test('a walk well inside the threshold is never split', async (t) => {
  const walks = new WalkChooser(8);
  const parts = run(walks, 200, ROWS, (p) => (p === 1 ? singleMs(0.5) : singleMs(0.1)));
  t.ok(
    parts.every((p) => p === 1),
    'one walk every time, however fast a split would be',
  );
  t.equal(walks.state().splitMsPerRow, null, 'a split was never tried');
  t.equal(walks.state().lastRows, ROWS);
});

t.test('the first scan walks once: nothing is known yet', async (t) => {
  t.equal(new WalkChooser(2).next(), 1);
});

t.test('one CPU: never split', async (t) => {
  const parts = run(new WalkChooser(1), 50, ROWS, (p) => (p === 1 ? singleMs(4) : singleMs(1)));
  t.ok(parts.every((p) => p === 1));
});

t.test('a long walk is split while splitting pays, re-checking the single walk', async (t) => {
  const walks = new WalkChooser(2);
  const parts = run(walks, 100, ROWS, (p) => (p === 1 ? singleMs(2) : singleMs(1)));
  t.same(parts.slice(0, 3), [1, 2, 2], 'single walk, then the split is tried and kept');
  const singles = parts.slice(2).filter((p) => p === 1).length;
  t.ok(
    singles >= 2 && singles <= Math.ceil(100 / REPROBE_SCANS),
    `single walk re-measured now and then (${singles})`,
  );
  const state = walks.state();
  t.ok(state.splitMsPerRow! < state.singleMsPerRow! * START_SPLIT_RATIO, 'the split is the faster');
});

t.test(
  'a split that does not shorten the walk enough is dropped, and tried again later',
  async (t) => {
    const walks = new WalkChooser(2);
    // The split takes 90 % of the single walk's time: less than a 20 % gain.
    const parts = run(walks, 100, ROWS, (p) => (p === 1 ? singleMs(2) : singleMs(1.8)));
    t.same(parts.slice(0, 3), [1, 2, 1], 'tried once, then one walk');
    const splits = parts.filter((p) => p === 2).length;
    t.ok(
      splits >= 2 && splits <= 1 + Math.ceil(100 / REPROBE_SCANS),
      `re-tried now and then (${splits})`,
    );
  },
);

t.test('when the split stops paying (the second CPU got busy), auto goes back', async (t) => {
  const walks = new WalkChooser(2);
  run(walks, 20, ROWS, (p) => (p === 1 ? singleMs(2) : singleMs(1)));
  t.equal(walks.next(), 2, 'splitting while it pays');
  walks.record(2, ROWS, singleMs(1));
  const later = run(walks, 20, ROWS, (p) => (p === 1 ? singleMs(2) : singleMs(2.4)));
  t.equal(later.at(-1), 1, 'back to one walk once the split is slower');
  t.ok(
    later.slice(-5).every((p) => p === 1),
    'and it stays there',
  );
});

t.test('a table that shrinks is walked once again', async (t) => {
  const walks = new WalkChooser(2);
  run(walks, 10, ROWS, (p) => (p === 1 ? singleMs(2) : singleMs(1)));
  t.equal(walks.next(), 2);
  walks.record(2, ROWS / 10, singleMs(0.1));
  t.equal(walks.next(), 1, 'a tenth of the rows: the single walk is short again');
});

t.test('tiny or nonsense measurements teach nothing', async (t) => {
  const walks = new WalkChooser(2);
  walks.record(1, 10, 5000);
  walks.record(1, ROWS, Number.NaN);
  walks.record(1, ROWS, -1);
  t.equal(walks.state().singleMsPerRow, null);
  t.equal(walks.next(), 1);
});

t.test('a split that saves less than the start ratio asks is never started', async (t) => {
  t.ok(START_SPLIT_RATIO < KEEP_SPLIT_RATIO, 'starting asks for more than keeping');
  const walks = new WalkChooser(2);
  // Inside the keep ratio, outside the start one.
  const parts = run(walks, 100, ROWS, (p) =>
    p === 1 ? singleMs(2) : singleMs(2 * BETWEEN_RATIOS),
  );
  t.same(parts.slice(0, 3), [1, 2, 1], 'tried once, then one walk');
  t.ok(
    parts.filter((p) => p === 2).length <= 1 + Math.ceil(100 / REPROBE_SCANS),
    'only re-tried now and then',
  );
});

t.test('a split that started is kept while it stays inside the keep ratio', async (t) => {
  const walks = new WalkChooser(2);
  run(walks, 20, ROWS, (p) => (p === 1 ? singleMs(2) : singleMs(1.4)));
  t.equal(walks.next(), 2, 'splitting: 70 % of the single walk');
  walks.record(2, ROWS, singleMs(1.4));
  // The second CPU gets a little busier: the split now takes 85 %.
  const later = run(walks, 90, ROWS, (p) => (p === 1 ? singleMs(2) : singleMs(2 * BETWEEN_RATIOS)));
  t.ok(
    later.filter((p) => p === 1).length <= Math.ceil(90 / REPROBE_SCANS),
    `still split, but for the single walk's re-checks (${later.join('')})`,
  );
  // Past the keep ratio (95 %), it goes back to one walk.
  const slower = run(walks, 20, ROWS, (p) => (p === 1 ? singleMs(2) : singleMs(1.9)));
  t.ok(
    slower.slice(-10).every((p) => p === 1),
    `one walk once the split saves too little (${slower.join('')})`,
  );
});

t.test('noise around the start ratio does not flip the way scan by scan', async (t) => {
  const walks = new WalkChooser(2);
  // The split's time swings between 72 % and 88 % of the single walk's:
  // around the start ratio, inside the keep one.
  let scan = 0;
  const parts = run(walks, 120, ROWS, (p) =>
    p === 1 ? singleMs(2) : singleMs(2 * (scan++ % 2 === 0 ? 0.72 : 0.88)),
  );
  let switches = 0;
  for (let i = 1; i < parts.length; i++) if (parts[i] !== parts[i - 1]) switches++;
  // Each re-check of the single walk is two switches (there and back).
  t.ok(
    switches <= 2 * Math.ceil(120 / REPROBE_SCANS) + 2,
    `${switches} switches in ${parts.length} scans: ${parts.join('')}`,
  );
  t.ok(parts.slice(-20).filter((p) => p === 2).length >= 19, 'and it splits');
});
