// Content negotiation with q-values (Accept, Accept-Encoding) and the
// landing page's escaping of --web.telemetry-path.
import { gunzipSync } from 'node:zlib';
import pino from 'pino';
import t from 'tap';
import {
  negotiate,
  OPENMETRICS_CONTENT_TYPE,
  PROMETHEUS_CONTENT_TYPE,
} from '../../src/http/exposition';
import { codingQuality, mediaQuality, parsePreferences } from '../../src/http/negotiate';
import { buildServer } from '../../src/http/server';
import { testRegistry } from '../helpers/context';

const OM = OPENMETRICS_CONTENT_TYPE;
const TEXT = PROMETHEUS_CONTENT_TYPE;

t.test('Accept: OpenMetrics only when preferred to the text format', async (t) => {
  const cases: [string | undefined, string][] = [
    [undefined, TEXT],
    ['', TEXT],
    ['*/*', TEXT],
    ['application/openmetrics-text', OM],
    ['application/openmetrics-text;q=0', TEXT],
    ['application/openmetrics-text; version=1.0.0; q=0', TEXT],
    ['text/plain, application/openmetrics-text;q=0', TEXT],
    ['application/openmetrics-text;q=0.0, */*;q=0.1', TEXT],
    // What Prometheus 2 and 3 send.
    [
      'application/openmetrics-text;version=1.0.0;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2',
      OM,
    ],
    [
      'application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1',
      OM,
    ],
    ['text/plain;q=0.9, application/openmetrics-text;q=0.5', TEXT],
    ['Application/OpenMetrics-Text; Q=0.8, text/plain; q=0.2', OM],
    ['application/*', OM],
    ['application/openmetrics-text;q=2', OM], // not a q-value: as if absent (1)
    ['text/plain;q=0.5, application/openmetrics-text;q=0.5', TEXT], // a tie: text
  ];
  for (const [accept, expected] of cases) {
    t.equal(negotiate(accept), expected, JSON.stringify(accept));
  }
  const preferences = parsePreferences('text/*;q=0.3, text/plain;q=0.7, */*;q=0.1');
  t.equal(mediaQuality(preferences, 'text/plain'), 0.7, 'the most specific range wins');
  t.equal(mediaQuality(preferences, 'text/html'), 0.3);
  t.equal(mediaQuality(preferences, 'image/png'), 0.1);
});

t.test('Accept-Encoding: gzip unless refused', async (t) => {
  const q = (header: string | undefined) => codingQuality(parsePreferences(header), 'gzip');
  t.equal(q(undefined), 0);
  t.equal(q('gzip'), 1);
  t.equal(q('GZIP, deflate'), 1);
  t.equal(q('gzip;q=0'), 0);
  t.equal(q('*'), 1);
  t.equal(q('*;q=0.5'), 0.5);
  t.equal(q('gzip;q=0, *'), 0, 'its own entry beats *');
  t.equal(q('identity'), 0);
  const app = buildServer({ registry: testRegistry([]), log: pino({ level: 'silent' }) });
  const refused = await app.inject({ url: '/metrics', headers: { 'accept-encoding': 'gzip;q=0' } });
  t.equal(refused.headers['content-encoding'], undefined);
  t.match(refused.body, /^# HELP sockdiag_scrape_collector_duration_seconds/m);
  const gzip = await app.inject({ url: '/metrics', headers: { 'accept-encoding': 'br, gzip' } });
  t.equal(gzip.headers['content-encoding'], 'gzip');
  t.equal(gzip.headers.vary, 'Accept-Encoding');
  t.match(gunzipSync(gzip.rawPayload).toString(), /sockdiag_scrape_collector_duration_seconds/);
  const open = await app.inject({
    url: '/metrics',
    headers: { accept: 'application/openmetrics-text;q=0, text/plain;q=0.5' },
  });
  t.match(open.headers['content-type'], /^text\/plain; version=0\.0\.4/);
});

t.test('--web.telemetry-path is escaped in the landing page', async (t) => {
  const telemetryPath = '/m"><script>alert(1)</script>&x';
  const app = buildServer({
    registry: testRegistry([]),
    log: pino({ level: 'silent' }),
    telemetryPath,
  });
  const page = await app.inject({ url: '/' });
  t.notMatch(page.body, /<script>/);
  t.match(
    page.body,
    '<a href="/m&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;&amp;x">/m&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;&amp;x</a>',
  );
});
