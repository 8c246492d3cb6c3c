// Routes with fastify.inject and a hermetic registry of fake collectors.
import { gunzipSync } from 'node:zlib';
import pino from 'pino';
import t from 'tap';
import type { CollectorDefinition } from '../../src/collectors/collector';
import { ProcessMetrics } from '../../src/http/exposition';
import { VERSION } from '../../src/cli/version';
import { buildServer } from '../../src/http/server';
import { testRegistry } from '../helpers/context';

let calls = 0;
const fake = (name: string, behaviour: 'ok' | 'fail' | 'slow'): CollectorDefinition => ({
  name,
  help: `fake ${name}`,
  defaultEnabled: true,
  options: {},
  create: () => ({
    async collect() {
      calls++;
      if (behaviour === 'fail') throw new Error('boom');
      if (behaviour === 'slow') await new Promise((resolve) => setTimeout(resolve, 50));
      return [
        {
          name: `test_${name}_events_total`,
          help: `events seen by ${name}`,
          type: 'counter',
          values: [{ value: 42, labels: { kind: 'a' } }],
        },
      ];
    },
  }),
});

function app(options: { minIntervalSeconds?: number } = {}) {
  const definitions = [fake('alpha', 'ok'), fake('beta', 'fail'), fake('gamma', 'slow')];
  const registry = testRegistry(definitions);
  return buildServer({
    registry,
    version: VERSION,
    processMetrics: new ProcessMetrics(),
    log: pino({ level: 'silent' }),
    ...options,
  });
}

t.test('GET /metrics: Prometheus text, failing collector reported, others served', async (t) => {
  const server = app();
  const response = await server.inject({ url: '/metrics' });
  t.equal(response.statusCode, 200);
  t.match(response.headers['content-type'], /^text\/plain; version=0\.0\.4/);
  t.match(response.body, /^test_alpha_events_total\{kind="a"\} 42$/m);
  t.match(response.body, /^sockdiag_scrape_collector_success\{collector="beta"\} 0$/m);
  t.match(response.body, /^sockdiag_scrape_collector_success\{collector="alpha"\} 1$/m);
  t.match(
    response.body,
    /^sockdiag_scrape_collector_duration_seconds\{collector="gamma"\} 0\.0\d+/m,
  );
  t.notMatch(response.body, /test_beta/, 'the failed collector contributes nothing');
  t.match(response.body, /^process_cpu_user_seconds_total /m, 'process metrics');
  t.notMatch(response.body, /nodejs_active_handles_total/, 'misnamed prom-client gauges dropped');
});

t.test('OpenMetrics when asked', async (t) => {
  const server = app();
  const response = await server.inject({
    url: '/metrics',
    headers: { accept: 'application/openmetrics-text; version=1.0.0,text/plain;q=0.5' },
  });
  t.match(response.headers['content-type'], /^application\/openmetrics-text/);
  t.match(response.body, /^# TYPE test_alpha_events counter$/m);
  t.match(response.body, /^test_alpha_events_total\{kind="a"\} 42$/m);
  t.match(response.body, /^process_cpu_user_seconds_total /m);
  t.match(response.body, /# EOF\n$/);
  // The next plain scrape must not inherit OpenMetrics renames.
  const plain = await server.inject({ url: '/metrics' });
  t.match(plain.body, /^# TYPE test_alpha_events_total counter$/m);
  t.match(plain.body, /^process_cpu_user_seconds_total /m);
});

t.test('gzip when accepted', async (t) => {
  const server = app();
  const response = await server.inject({ url: '/metrics', headers: { 'accept-encoding': 'gzip' } });
  t.equal(response.headers['content-encoding'], 'gzip');
  t.match(gunzipSync(response.rawPayload).toString(), /test_alpha_events_total/);
});

t.test('collect[] restricts the scrape; unknown names are a 400', async (t) => {
  const server = app();
  const one = await server.inject({ url: '/metrics?collect[]=alpha' });
  t.match(one.body, /test_alpha_events_total/);
  t.notMatch(one.body, /collector="gamma"/);
  const two = await server.inject({ url: '/metrics?collect[]=alpha&collect[]=gamma' });
  t.match(two.body, /collector="gamma"/);
  const bad = await server.inject({ url: '/metrics?collect[]=nope' });
  t.equal(bad.statusCode, 400);
  t.match(bad.body, /unknown or disabled collector "nope"/);
});

t.test('concurrent scrapes share one collection', async (t) => {
  const server = app();
  calls = 0;
  await Promise.all([1, 2, 3, 4].map(() => server.inject({ url: '/metrics' })));
  t.equal(calls, 3, 'each of the three collectors ran once for four scrapes');
  await server.inject({ url: '/metrics' });
  t.equal(calls, 6, 'a later scrape collects again');
});

t.test('--scrape.min-interval reuses a recent collection', async (t) => {
  const server = app({ minIntervalSeconds: 60 });
  calls = 0;
  await server.inject({ url: '/metrics' });
  await server.inject({ url: '/metrics' });
  t.equal(calls, 3);
});

t.test('landing page, health, 404', async (t) => {
  const server = app();
  const landing = await server.inject({ url: '/' });
  t.match(landing.headers['content-type'], /text\/html/);
  t.match(landing.body, /href="\/metrics"/);
  t.match(landing.body, /Version \d+\.\d+\.\d+/);
  const health = await server.inject({ url: '/healthz' });
  t.equal(health.statusCode, 200);
  t.equal(health.body, 'ok\n');
  const missing = await server.inject({ url: '/nope' });
  t.equal(missing.statusCode, 404);
});
