// --collector.sockets.parallel-dumps=0 (auto): whether a scan walks the TCP
// table once or in two parts at once. Two parts take two CPUs and cost more
// CPU in all (each part's kernel walk still steps over every socket of the
// table; the threads contend), for a shorter scrape only when the second
// CPU is free. So auto spends a second CPU only where it measurably
// shortens the walk:
//
// - one walk while the expected single walk (its measured time per row,
//   times the rows of the last scan) is under SPLIT_AFTER_MS, or the host
//   has one CPU: below it the split's own fixed costs (a LISTEN dump
//   first, a second thread, the merge) take most of what it could save;
// - past it, a split is tried. Auto starts splitting when the split takes
//   at most START_SPLIT_RATIO of the single walk's time per row, and then
//   keeps splitting while it takes at most KEEP_SPLIT_RATIO. A busy host's
//   second CPU is not free, and the split then is not faster. The gap
//   between the two ratios keeps a split that saves about 20 % from
//   flipping between the two ways scan by scan as the noise moves its
//   figure across one line (at 1M sockets, a 15 % saving used to do that);
// - each way is measured again every REPROBE_SCANS scans of the other (a
//   host's free CPU comes and goes), so a stale figure does not stick.
//
// Measured on a 2-CPU VM (bench/RESULTS.md, sixth to eighth sessions):
// a split costs 8-33 % more CPU per scrape for 15-39 % less wall time at
// 200k and 1M sockets (15 % only in an hour when the second CPU was
// slow: the flapping above). Until the
// receiver threads parsed their own datagrams it cost 15-40 % more for
// 0-22 % less, and auto waited for 2.5 s walks.
//
// Times per row are moving averages (weight NEW_WEIGHT for a new scan).

export const SPLIT_AFTER_MS = 50;
export const START_SPLIT_RATIO = 0.8;
export const KEEP_SPLIT_RATIO = 0.9;
export const REPROBE_SCANS = 30;
const NEW_WEIGHT = 0.3;
/** Below this many rows a walk's time says more about fixed costs than rows. */
const MIN_ROWS = 1000;

interface WayEstimate {
  /** Milliseconds per row; NaN until measured. */
  msPerRow: number;
  /** Scans since this way was last measured. */
  age: number;
}

export interface WalkChoiceState {
  parts: number;
  singleMsPerRow: number | null;
  splitMsPerRow: number | null;
  lastRows: number;
}

export class WalkChooser {
  private readonly single: WayEstimate = { msPerRow: Number.NaN, age: 0 };
  private readonly split: WayEstimate = { msPerRow: Number.NaN, age: 0 };
  private lastRows = 0;
  private chosen = 1;
  /** Whether the split paid when last judged: which ratio it must meet now. */
  private splitting = false;

  /** `cpus`: the CPUs this process may use (os.availableParallelism()). */
  constructor(private readonly cpus: number) {}

  /** Parts for the next scan: 1 or 2. */
  next(): number {
    this.chosen = this.decide();
    return this.chosen;
  }

  /** What a scan of `parts` parts took: TCP rows and the TCP walk's wall time. */
  record(parts: number, rows: number, ms: number): void {
    this.lastRows = rows;
    if (rows < MIN_ROWS || !(ms >= 0)) return;
    const measured = parts > 1 ? this.split : this.single;
    const other = parts > 1 ? this.single : this.split;
    const rate = ms / rows;
    measured.msPerRow = Number.isNaN(measured.msPerRow)
      ? rate
      : measured.msPerRow * (1 - NEW_WEIGHT) + rate * NEW_WEIGHT;
    measured.age = 0;
    other.age++;
  }

  /** What auto knows (for tests; nothing reports it yet). */
  state(): WalkChoiceState {
    const known = (estimate: WayEstimate) =>
      Number.isNaN(estimate.msPerRow) ? null : estimate.msPerRow;
    return {
      parts: this.chosen,
      singleMsPerRow: known(this.single),
      splitMsPerRow: known(this.split),
      lastRows: this.lastRows,
    };
  }

  private decide(): number {
    if (this.cpus < 2) return 1;
    const single = this.single.msPerRow;
    // Nothing measured yet: start with the cheaper way.
    if (Number.isNaN(single)) return 1;
    if (single * this.lastRows < SPLIT_AFTER_MS) {
      this.splitting = false;
      return 1;
    }
    const split = this.split.msPerRow;
    if (Number.isNaN(split)) return 2;
    this.splitting = split <= single * (this.splitting ? KEEP_SPLIT_RATIO : START_SPLIT_RATIO);
    if (this.splitting) {
      // Splitting pays: measure the single walk again now and then.
      return this.single.age >= REPROBE_SCANS ? 1 : 2;
    }
    // It did not: try it again now and then.
    return this.split.age >= REPROBE_SCANS ? 2 : 1;
  }
}
