// What the server shares and what it refuses, with fastify.inject:
// one rendered body per collection, format and coding; --web.max-requests;
// rate_limit's token bucket; http_server_config.headers on every answer.
import { gunzipSync } from 'node:zlib';
import pino from 'pino';
import t from 'tap';
import type { CollectorDefinition } from '../../src/collectors/collector';
import type { ProcessMetrics } from '../../src/http/exposition';
import { connectionCap, openFilesLimit, ScrapeSlots, TokenBucket } from '../../src/http/limits';
import { RateLimitedLog } from '../../src/http/rate-limited-log';
import { buildServer, createServer } from '../../src/http/server';
import type { WebConfig } from '../../src/http/web-config';
import { testRegistry } from '../helpers/context';

/** A collector that answers when `release()` is called. */
function gated() {
  let open!: () => void;
  let opened = new Promise<void>((resolve) => (open = resolve));
  let collections = 0;
  const definition: CollectorDefinition = {
    name: 'slow',
    help: 'waits',
    defaultEnabled: true,
    options: {},
    create: () => ({
      async collect() {
        collections++;
        await opened;
        return [
          {
            name: 'test_value',
            help: 'a value',
            type: 'gauge',
            values: [{ value: 1 }],
          },
        ];
      },
    }),
  };
  return {
    definition,
    release: () => open(),
    reset: () => {
      opened = new Promise<void>((resolve) => (open = resolve));
    },
    get collections() {
      return collections;
    },
  };
}

/** Counts renders: the renderer asks for the process metrics once per body. */
function countingProcessMetrics() {
  const counter = { renders: 0 };
  const metrics = {
    families: async () => {
      counter.renders++;
      return [];
    },
  } as unknown as ProcessMetrics;
  return { counter, metrics };
}

const log = pino({ level: 'silent' });

t.test('concurrent scrapes share one body per format and coding', async (t) => {
  const slow = gated();
  const { counter, metrics } = countingProcessMetrics();
  const app = buildServer({
    registry: testRegistry([slow.definition]),
    log,
    processMetrics: metrics,
    maxRequests: 0,
  });
  const gzip = Array.from({ length: 256 }, () =>
    app.inject({ url: '/metrics', headers: { 'accept-encoding': 'gzip' } }),
  );
  const plain = Array.from({ length: 16 }, () => app.inject({ url: '/metrics' }));
  const open = Array.from({ length: 16 }, () =>
    app.inject({ url: '/metrics', headers: { accept: 'application/openmetrics-text' } }),
  );
  await new Promise((resolve) => setTimeout(resolve, 50));
  slow.release();
  const responses = await Promise.all([...gzip, ...plain, ...open]);
  t.ok(
    responses.every((r) => r.statusCode === 200),
    'all 288 answered',
  );
  t.equal(slow.collections, 1, 'one collection');
  t.equal(
    counter.renders,
    2,
    'two renders: the text format (gzip made from it once) and OpenMetrics',
  );
  const bodies = new Set<string>();
  for (const response of responses.slice(0, 256))
    bodies.add(gunzipSync(response.rawPayload).toString());
  t.equal(bodies.size, 1, 'every gzip scrape got the same bytes');
  t.match([...bodies][0], /^test_value 1$/m);
  slow.reset();
  const later = app.inject({ url: '/metrics' });
  slow.release();
  await later;
  t.equal(slow.collections, 2, 'a scrape after the collection finished collects again');
  t.equal(counter.renders, 3);
});

t.test('--web.max-requests: beyond it, 503 at once; 0 disables', async (t) => {
  const slow = gated();
  const app = buildServer({ registry: testRegistry([slow.definition]), log, maxRequests: 2 });
  const first = [app.inject({ url: '/metrics' }), app.inject({ url: '/metrics' })];
  await new Promise((resolve) => setTimeout(resolve, 20));
  const third = await app.inject({ url: '/metrics' });
  t.equal(third.statusCode, 503, 'the third parallel scrape is refused while two run');
  t.equal(third.body, 'Limit of concurrent requests reached (2), try again later.\n');
  const health = await app.inject({ url: '/healthz' });
  t.equal(health.statusCode, 200, 'other routes are not limited');
  slow.release();
  t.same(
    (await Promise.all(first)).map((r) => r.statusCode),
    [200, 200],
  );
  t.equal((await app.inject({ url: '/metrics' })).statusCode, 200, 'slots come back');

  const unlimited = gated();
  const free = buildServer({ registry: testRegistry([unlimited.definition]), log, maxRequests: 0 });
  const many = Array.from({ length: 100 }, () => free.inject({ url: '/metrics' }));
  await new Promise((resolve) => setTimeout(resolve, 20));
  unlimited.release();
  t.ok(
    (await Promise.all(many)).every((r) => r.statusCode === 200),
    '100 at once with 0',
  );

  const slots = new ScrapeSlots(1);
  const release = slots.take()!;
  t.equal(slots.take(), undefined);
  release();
  release(); // twice is once
  t.equal(slots.inUse, 0);
});

t.test('rate_limit: a token bucket over all requests, 429 beyond', async (t) => {
  let now = 0;
  const bucket = new TokenBucket({ intervalMs: 1000, burst: 2 }, () => now);
  t.same([bucket.allow(), bucket.allow(), bucket.allow()], [true, true, false], 'burst of 2');
  now = 500;
  t.equal(bucket.allow(), false, 'half a token');
  now = 1000;
  t.equal(bucket.allow(), true, 'one token a second');
  now = 100_000;
  t.same(
    [bucket.allow(), bucket.allow(), bucket.allow()],
    [true, true, false],
    'never more than burst',
  );
  t.equal(
    new TokenBucket({ intervalMs: 1000, burst: 0 }).allow(),
    false,
    'burst 0: nothing, as in Go',
  );

  const config: WebConfig = { rateLimit: { intervalMs: 60_000, burst: 2 } };
  const app = buildServer({ registry: testRegistry([]), log, webConfig: config });
  const statuses = [];
  for (let i = 0; i < 3; i++) statuses.push((await app.inject({ url: '/healthz' })).statusCode);
  t.same(statuses, [200, 200, 429]);
});

t.test('http_server_config.headers on every answer', async (t) => {
  const config: WebConfig = {
    headers: { 'X-Frame-Options': 'deny', 'Strict-Transport-Security': 'max-age=31536000' },
    users: new Map([
      ['prometheus', '$2y$04$invalidinvalidinvalidinuLx0hZtxTsR5OubKSv4ee4YCn6W5sG'],
    ]),
  };
  const app = buildServer({ registry: testRegistry([]), log, webConfig: config });
  const denied = await app.inject({ url: '/healthz' });
  t.equal(denied.statusCode, 401);
  t.equal(denied.headers['x-frame-options'], 'deny', 'on a 401 too');
  t.equal(denied.headers['strict-transport-security'], 'max-age=31536000');
  const open = buildServer({
    registry: testRegistry([]),
    log,
    webConfig: { headers: config.headers! },
  });
  for (const url of ['/', '/healthz', '/metrics', '/nope']) {
    t.equal((await open.inject({ url })).headers['x-frame-options'], 'deny', url);
  }
});

t.test('the connection cap stays below the open files limit', async (t) => {
  t.same(connectionCap(512, 1_048_576), { cap: 512, why: '--web.max-connections' });
  t.same(connectionCap(512, 100).cap, 36, '100 descriptors less 64 kept');
  t.match(connectionCap(512, 100).why, /open files limit 100/);
  t.same(connectionCap(0, 1024).cap, 960, '0: only the descriptors bound it');
  t.same(connectionCap(0, undefined), { cap: 0, why: '--web.max-connections' });
  t.same(connectionCap(512, 10).cap, 1, 'never 0 (which would mean no limit)');
  const limit = openFilesLimit();
  t.ok(limit === undefined || limit > 0, `this process: ${limit}`);
  t.equal(openFilesLimit('/nonexistent'), undefined);
});

t.test('accept errors are logged, rate limited, and never crash the server', async (t) => {
  const lines: string[] = [];
  const server = createServer({
    registry: testRegistry([]),
    log: pino({ level: 'warn' }, { write: (line: string) => lines.push(line) }),
  });
  await server.app.listen({ port: 0, host: '127.0.0.1' });
  t.teardown(() => server.app.close());
  const emfile = () =>
    Object.assign(new Error('accept EMFILE'), { code: 'EMFILE', syscall: 'accept' });
  for (let i = 0; i < 50; i++) server.app.server.emit('error', emfile());
  t.equal(lines.length, 1, 'one line for 50 failures within the interval');
  t.match(
    lines[0],
    /"code":"EMFILE","syscall":"accept".*cannot accept connections: out of file descriptors \(EMFILE\); raise LimitNOFILE/,
  );
  t.equal((await server.app.inject({ url: '/healthz' })).statusCode, 200, 'still serving');

  let now = 0;
  const logged: Record<string, unknown>[] = [];
  const fake = {
    warn: (fields: Record<string, unknown>) => logged.push(fields),
  } as unknown as pino.Logger;
  const limited = new RateLimitedLog(fake, 10_000, () => now);
  for (let i = 0; i < 5; i++) limited.warn({ n: i }, 'refused');
  now = 10_000;
  limited.warn({ n: 5 }, 'refused');
  t.same(
    logged,
    [{ n: 0 }, { n: 5, suppressed: 4 }],
    'the next line says how many were not logged',
  );
});
