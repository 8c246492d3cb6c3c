// prom-client rendering families, the oracle renderText() is held against.
import { type Metric, Registry } from 'prom-client';
import type { MetricFamily } from '../../src/collectors/collector';
import { withSharedLabels } from '../../src/collectors/families';
import { type ContentType, OPENMETRICS_CONTENT_TYPE } from '../../src/http/exposition';

const NO_SHARED_LABELS: Readonly<Record<string, string>> = Object.freeze({});

/**
 * prom-client's own rendering of families, as the exporter did before it
 * wrote the formats itself: the oracle of test/unit/exposition-text.test.ts.
 */
export async function renderWithPromClient(
  families: readonly MetricFamily[],
  contentType: ContentType,
): Promise<string> {
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
