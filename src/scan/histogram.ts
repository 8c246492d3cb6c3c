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
  total = 0;
  private readonly rawBounds: Float64Array;
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
    this.counts = new Float64Array(bounds.length);
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
    const bounds = this.rawBounds;
    for (let i = 0; i < bounds.length; i++) {
      if (value <= bounds[i]!) {
        this.counts[i]!++;
        return;
      }
    }
  }
}
