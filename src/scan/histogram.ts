// A fixed-bucket histogram filled in the per-socket loop without allocation.
// collectors/families.ts turns it into Prometheus samples.

export class Histogram {
  /** Observations per bucket (not cumulative); values above the last bound count only in `total`. */
  readonly counts: Float64Array;
  sum = 0;
  total = 0;

  /** `bounds` are upper bounds in the observed unit, ascending. */
  constructor(readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length);
  }

  observe(value: number): void {
    this.sum += value;
    this.total++;
    const bounds = this.bounds;
    for (let i = 0; i < bounds.length; i++) {
      if (value <= bounds[i]!) {
        this.counts[i]!++;
        return;
      }
    }
  }
}
