// renderText() writes the text format and OpenMetrics itself, for speed;
// prom-client's own rendering is the oracle: the same bytes for every shape
// a family takes.
import t from 'tap';
import type { MetricFamily } from '../../src/collectors/collector';
import { withSharedLabels } from '../../src/collectors/families';
import {
  OPENMETRICS_CONTENT_TYPE,
  PROMETHEUS_CONTENT_TYPE,
  render,
  renderText,
} from '../../src/http/exposition';
import { renderWithPromClient } from '../helpers/prom-client-render';

const ns = Object.freeze({ netns: 'cni-0b6f "x"\\y\nz' });
const empty = Object.freeze({});

const FAMILIES: MetricFamily[] = [
  { name: 'a_total', help: 'Help with \\ backslash\nand newline', type: 'counter', values: [] },
  {
    name: 'b',
    help: 'plain',
    type: 'gauge',
    values: [
      { value: 1 },
      { value: 0.1 + 0.2 },
      { value: -0 },
      { value: 1e21 },
      { value: 5e-324 },
      { value: NaN },
      { value: Infinity },
      { value: -Infinity },
      { value: 2 ** 53 + 2, labels: {} },
    ],
  },
  {
    name: 'c',
    help: 'labels',
    type: 'gauge',
    values: [
      { value: 1, labels: { a: 'x', b: 'quote " back \\ nl \n end', c: 7, d: '' } },
      { value: 2, labels: { a: 'ünïcødé ✓', b: '\\\\"' } },
      { value: 3, labels: { netns: 'own', a: 'shared wins' }, sharedLabels: ns },
      { value: 4, labels: { a: 'b' }, sharedLabels: empty },
      { value: 5, sharedLabels: ns },
      { value: 6, labels: {}, sharedLabels: { x: '1', y: '2' } },
      withSharedLabels({ value: 7, labels: { port: 8080 } }, ns),
    ],
  },
  {
    name: 'h_seconds',
    help: 'a histogram',
    type: 'histogram',
    values: [
      { value: 1, labels: { le: 0.005 }, metricName: 'h_seconds_bucket' },
      { value: 2, labels: { le: '+Inf' }, metricName: 'h_seconds_bucket', sharedLabels: ns },
      { value: 0.25, metricName: 'h_seconds_sum' },
      { value: 2, metricName: 'h_seconds_count' },
    ],
  },
  {
    name: 'b',
    help: 'a second family of a name already rendered',
    type: 'gauge',
    values: [{ value: 9 }],
  },
  { name: 's', help: '', type: 'untyped', values: [{ value: 1, labels: { quantile: 0.5 } }] },
];

t.test('renderText writes what prom-client writes', async (t) => {
  const ours = renderText(FAMILIES);
  const theirs = await renderWithPromClient(FAMILIES, PROMETHEUS_CONTENT_TYPE);
  t.equal(ours, theirs, 'byte for byte');
  t.match(
    ours,
    /,b="quote \\" back \\\\ nl \\n end"/,
    'escapes seen in the output (the case is exercised)',
  );
  t.equal(
    await render(FAMILIES, PROMETHEUS_CONTENT_TYPE),
    ours,
    'render() uses it for the text format',
  );
});

t.test('renderText on many generated families equals prom-client', async (t) => {
  // A deterministic pseudo-random mix of the shapes above, a namespace-sized scrape.
  let seed = 7;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const pieces = ['a', 'b"', 'c\\', 'd\n', '', 'é', '0', '+Inf'];
  const shares = Array.from({ length: 20 }, (_, i) => Object.freeze({ netns: `ns-${i}` }));
  const families: MetricFamily[] = Array.from({ length: 60 }, (_, f) => ({
    name: `m${f}`,
    help: `help ${pieces[f % pieces.length]}`,
    type: f % 3 === 0 ? 'counter' : 'gauge',
    values: Array.from({ length: 50 }, () => {
      const labels: Record<string, string | number> = {};
      for (let k = 0; k < Math.floor(next() * 4); k++) {
        labels[`l${k}`] =
          next() < 0.2 ? Math.floor(next() * 100) : pieces[Math.floor(next() * pieces.length)]!;
      }
      const value = next() < 0.05 ? NaN : (next() - 0.5) * 10 ** Math.floor(next() * 30 - 10);
      const sample = { value, labels };
      return next() < 0.5
        ? withSharedLabels(sample, shares[Math.floor(next() * shares.length)]!)
        : sample;
    }),
  }));
  t.equal(renderText(families), await renderWithPromClient(families, PROMETHEUS_CONTENT_TYPE));
  t.equal(
    renderText(families, true),
    await renderWithPromClient(families, OPENMETRICS_CONTENT_TYPE),
    'OpenMetrics',
  );
});
