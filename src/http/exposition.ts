// Renders metric families with prom-client, in the Prometheus text format or
// OpenMetrics. Collection happens before rendering (prom-client reads async
// collectors' siblings before they resolve), and every scrape renders fresh
// adapter objects: prom-client renames counters in place for OpenMetrics.
import { collectDefaultMetrics, type Metric, Registry } from 'prom-client';
import type { MetricFamily } from '../collectors/collector';
import { withSharedLabels } from '../collectors/families';
import { mediaQuality, parsePreferences } from './negotiate';

export const PROMETHEUS_CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE;
export const OPENMETRICS_CONTENT_TYPE = Registry.OPENMETRICS_CONTENT_TYPE;
export type ContentType = typeof PROMETHEUS_CONTENT_TYPE | typeof OPENMETRICS_CONTENT_TYPE;

const NO_SHARED_LABELS: Readonly<Record<string, string>> = Object.freeze({});

const MISNAMED_GAUGES = new Set([
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
]);

/** Process and Node.js metrics (prom-client defaults), kept across scrapes. */
export class ProcessMetrics {
  private readonly registry = new Registry();

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  async families(): Promise<MetricFamily[]> {
    const metrics = this.registry.getMetricsAsArray() as unknown as Metric[];
    const families = (await Promise.all(
      metrics.map((metric) => metric.get()),
    )) as unknown as MetricFamily[];
    // prom-client names these gauges *_total, which promtool rightly rejects.
    return families.filter((family) => !MISNAMED_GAUGES.has(family.name));
  }
}

/**
 * OpenMetrics when the Accept header prefers it to the text format (a
 * higher q; Prometheus sends OpenMetrics at q=0.5 and text at q=0.3 or
 * lower), the text format otherwise: for ties, for `*\/*`, for no header
 * and for `openmetrics-text;q=0`.
 */
export function negotiate(accept: string | undefined): ContentType {
  const preferences = parsePreferences(accept);
  const open = mediaQuality(preferences, 'application/openmetrics-text');
  const text = mediaQuality(preferences, 'text/plain');
  return open > 0 && open > text ? OPENMETRICS_CONTENT_TYPE : PROMETHEUS_CONTENT_TYPE;
}

export async function render(families: MetricFamily[], contentType: ContentType): Promise<string> {
  const registry = new Registry();
  registry.setContentType(contentType as never);
  const seen = new Set<string>();
  for (const family of families) {
    if (seen.has(family.name)) continue; // never two HELP/TYPE blocks for one name
    seen.add(family.name);
    // OpenMetrics names the counter family without `_total`; prom-client then
    // appends `_total` to each sample.
    const openCounter = contentType === OPENMETRICS_CONTENT_TYPE && family.type === 'counter';
    const name = openCounter ? family.name.replace(/_total$/, '') : family.name;
    // prom-client defaults a sample's missing sharedLabels to a new {} and
    // caches its rendering in a WeakMap: one empty object for all instead
    // of a WeakMap entry (and its garbage) per sample.
    // (A sample with sharedLabels already has that shape: labelNamespace.)
    const values = family.values.map((v) =>
      v.sharedLabels ? v : withSharedLabels(v, NO_SHARED_LABELS),
    );
    const snapshot = { ...family, name, values, aggregator: 'sum' };
    registry.registerMetric({
      name,
      help: family.help,
      type: family.type,
      get: async () => snapshot,
    } as unknown as Metric);
  }
  return registry.metrics();
}
