// Small builders for metric families, shared by the collectors.
import type { Histogram } from '../scan/histogram';
import type { MetricFamily, MetricSample, MetricType } from './collector';

export function family(
  name: string,
  help: string,
  type: MetricType,
  values: MetricSample[],
): MetricFamily {
  return { name, help, type, values };
}

/** A gauge of one unlabelled value. */
export function gauge(name: string, help: string, value: number): MetricFamily {
  return { name, help, type: 'gauge', values: [{ value }] };
}

/** Cumulative `_bucket` samples, `_sum` and `_count`; `scale` converts to base units. */
export function histogramSamples(
  histogram: Histogram,
  name: string,
  labels: Record<string, string>,
  scale = 1,
): MetricSample[] {
  const out: MetricSample[] = [];
  let cumulative = 0;
  histogram.bounds.forEach((bound, i) => {
    cumulative += histogram.counts[i]!;
    out.push({
      metricName: `${name}_bucket`,
      labels: { ...labels, le: String(bound * scale) },
      value: cumulative,
    });
  });
  out.push({
    metricName: `${name}_bucket`,
    labels: { ...labels, le: '+Inf' },
    value: histogram.total,
  });
  out.push({ metricName: `${name}_sum`, labels, value: histogram.sum * scale });
  out.push({ metricName: `${name}_count`, labels, value: histogram.total });
  return out;
}

/**
 * One family per name, in first-seen order: the values of later families of
 * the same name (another namespace's, under its `netns` label) join the first.
 */
export function mergeFamilies(families: readonly MetricFamily[]): MetricFamily[] {
  const byName = new Map<string, MetricFamily>();
  for (const f of families) {
    const seen = byName.get(f.name);
    // Appended in place (the first family's copy owns its array): spreading
    // the growing array for each namespace was quadratic in namespaces.
    if (seen) for (const value of f.values) seen.values.push(value);
    else byName.set(f.name, { ...f, values: [...f.values] });
  }
  return [...byName.values()];
}

/**
 * A sample with `sharedLabels`, always of one shape: prom-client reads
 * samples of many shapes megamorphically, and spreads of them were slower
 * to make and to render than the label copies they saved.
 */
export function withSharedLabels(
  v: MetricSample,
  sharedLabels: Readonly<Record<string, string>>,
): MetricSample {
  return { value: v.value, labels: v.labels, metricName: v.metricName, sharedLabels };
}
