// A fixed-bucket histogram filled in the per-socket loop without allocation.
import type { MetricSample } from '../collectors/collector';

export class Histogram {
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

  /** Cumulative buckets, `_sum` and `_count` samples; `scale` converts to base units. */
  samples(name: string, labels: Record<string, string>, scale = 1): MetricSample[] {
    const out: MetricSample[] = [];
    let cumulative = 0;
    this.bounds.forEach((bound, i) => {
      cumulative += this.counts[i]!;
      out.push({
        metricName: `${name}_bucket`,
        labels: { ...labels, le: String(bound * scale) },
        value: cumulative,
      });
    });
    out.push({
      metricName: `${name}_bucket`,
      labels: { ...labels, le: '+Inf' },
      value: this.total,
    });
    out.push({ metricName: `${name}_sum`, labels, value: this.sum * scale });
    out.push({ metricName: `${name}_count`, labels, value: this.total });
    return out;
  }
}
