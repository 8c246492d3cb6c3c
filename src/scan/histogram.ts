// A fixed-bucket histogram filled in the per-socket loop without allocation.
// collectors/families.ts turns it into Prometheus samples.
//
// Observations may come in a finer raw unit than the bounds (tcp_info's µs
// and ms for bounds in seconds): the loop then compares the kernel's
// integers as they are, with no division per socket, and the sum is scaled
// once when it is read.

export class Histogram {
  /** Observations per bucket (not cumulative); values above the last bound count only in `total`. */
  readonly counts: Float64Array;
  /**
   * `counts` and one slot after it for values above the last bound: a
   * per-socket loop counts into `slots[bucketIndex(rawBounds, value)]`
   * with no branch for the overflow, then calls `record` once per batch.
   */
  readonly slots: Float64Array;
  total = 0;
  /** The bounds in the raw unit of the observations. */
  readonly rawBounds: Float64Array;
  private rawSum = 0;

  /**
   * `bounds` are upper bounds in the reported unit, ascending; observations
   * are in units of 1/`unit` of it (1e6: bounds in seconds, values in µs),
   * and each bound must be a whole number of them.
   */
  constructor(
    readonly bounds: readonly number[],
    readonly unit = 1,
  ) {
    this.slots = new Float64Array(bounds.length + 1);
    this.counts = this.slots.subarray(0, bounds.length);
    this.rawBounds = Float64Array.from(bounds, (b) => (unit === 1 ? b : Math.round(b * unit)));
  }

  /** Sum of the observations in the reported unit. */
  get sum(): number {
    return this.unit === 1 ? this.rawSum : this.rawSum / this.unit;
  }

  /** One value, in the raw unit. */
  observe(value: number): void {
    this.rawSum += value;
    this.total++;
    this.slots[bucketIndex(this.rawBounds, value)]!++;
  }

  /** Adds `count` observations summing to `rawSum` already counted into `slots`. */
  record(rawSum: number, count: number): void {
    this.rawSum += rawSum;
    this.total += count;
  }
}

/** The bucket of `value`: the first bound it does not exceed, bounds.length above the last. */
export function bucketIndex(bounds: Float64Array, value: number): number {
  let i = 0;
  while (i < bounds.length && value > bounds[i]!) i++;
  return i;
}
