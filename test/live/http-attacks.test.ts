// The exporter under its worst clients, in a namespace with 3,100 sockets
// (a 120 KB scrape): pipelined requests that are never read, 256 gzip
// scrapes at once, a wrong-password flood. Each asserts the goal of issue
// 11 and prints the figures. The exporter runs as the shipped unit runs it
// (MALLOC_ARENA_MAX=2) and without the test runner's hooks.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import bcrypt from 'bcryptjs';
import t, { type Test } from 'tap';
import { holdClient, runClient } from '../helpers/clients';
import { type RunningExporter, startExporter } from '../helpers/exporter';
import { testNamespace } from '../helpers/namespaces';
import { ROOT } from '../helpers/paths';
import { unavailable } from '../helpers/requirements';
import { buildServiceTable } from '../helpers/tables';

const skip = unavailable('namespaces', 'ss');
const PORT = 19561;
const PRODUCTION = { production: true, env: { MALLOC_ARENA_MAX: '2' } };

/** The shipped unit's MemoryMax, in MiB. */
function unitMemoryMax(): number {
  const unit = readFileSync(path.join(ROOT, 'deploy', 'sockdiag-exporter.service'), 'utf8');
  const match = /^MemoryMax=(\d+)M$/m.exec(unit);
  if (!match) throw new Error('no MemoryMax=<N>M in deploy/sockdiag-exporter.service');
  return Number(match[1]);
}

/** Bytes queued for sending on the exporter's side of its connections (ss -tm: skmem w). */
function sendQueues(exporter: RunningExporter): number {
  const out = exporter.ns.run('ss', ['-Htmn', 'state', 'established', `( sport = :${PORT} )`]);
  return [...out.matchAll(/skmem:\([^)]*\bw(\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0);
}

async function serviceHost(t: Test, args: string[] = []) {
  const { ns, holder, stopFirst } = testNamespace(t, { prefix: 'sdattack' });
  await buildServiceTable(holder);
  const exporter = await startExporter(ns, args, PORT, PRODUCTION);
  stopFirst(exporter);
  const scrape = exporter.get('/metrics');
  t.equal(scrape.status, 200);
  return { ns, exporter, size: scrape.body.length };
}

t.test('100 connections x 200 pipelined scrapes never read', { skip }, async (t) => {
  const { ns, exporter, size } = await serviceHost(t);
  const idle = exporter.memory();
  const attack = await holdClient(ns, 'pipeline', PORT, {
    connections: 100,
    requests: 200,
    seconds: 4,
  });
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const queued = sendQueues(exporter) / 2 ** 20;
  const result = await attack.release();
  const memory = exporter.memory();
  t.comment(
    `scrape ${(size / 1024).toFixed(0)} KiB; RSS idle ${idle.rss.toFixed(0)} MiB, peak ${memory.peak.toFixed(0)} MiB; ` +
      `send queues ${queued.toFixed(1)} MiB; /healthz ${result.healthzOk}/${result.healthz} ok, ` +
      `slowest ${result.healthzMaxMs.toFixed(0)} ms; ${result.closedByServer}/${result.connections} attackers closed`,
  );
  t.equal(result.connections, 100);
  t.ok(memory.peak < 300, `peak RSS ${memory.peak.toFixed(0)} MiB < 300 MiB`);
  t.equal(result.healthzOk, result.healthz, 'every /healthz answered');
  t.ok(result.healthzMaxMs < 1000, `/healthz within ${result.healthzMaxMs.toFixed(0)} ms < 1 s`);
  t.ok(
    memory.peak + queued < unitMemoryMax(),
    `peak RSS and send queues (${(memory.peak + queued).toFixed(0)} MiB) fit the unit's MemoryMax`,
  );
  t.equal(exporter.get('/metrics').status, 200, 'scrapes still work afterwards');
});

t.test('pipelining within the limit is answered in order, one at a time', { skip }, async (t) => {
  const { ns, exporter } = await serviceHost(t);
  const attack = await holdClient(ns, 'pipeline', PORT, {
    connections: 100,
    requests: 9,
    seconds: 3,
  });
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const queued = sendQueues(exporter) / 2 ** 20;
  const result = await attack.release();
  const memory = exporter.memory();
  t.comment(
    `100 x 9 never read: peak RSS ${memory.peak.toFixed(0)} MiB, send queues ${queued.toFixed(1)} MiB, ` +
      `/healthz slowest ${result.healthzMaxMs.toFixed(0)} ms`,
  );
  t.equal(result.closedByServer, 0, 'one answered and 8 waiting are allowed');
  t.ok(memory.peak < 300, `peak RSS ${memory.peak.toFixed(0)} MiB`);
  t.ok(result.healthzMaxMs < 1000, `/healthz within ${result.healthzMaxMs.toFixed(0)} ms`);
  t.ok(memory.peak + queued < unitMemoryMax(), 'fits the unit');
});

t.test('256 concurrent gzip scrapes share one rendered body', { skip }, async (t) => {
  const { ns, exporter } = await serviceHost(t, ['--web.max-requests=0']);
  const before = exporter.memory();
  const gzip = runClient(ns, 'concurrent', PORT, { count: 256, encoding: 'gzip' });
  const plain = runClient(ns, 'concurrent', PORT, { count: 256, encoding: 'identity' });
  const memory = exporter.memory();
  t.comment(
    `RSS before ${before.rss.toFixed(0)} MiB, peak after 256 gzip and 256 plain scrapes ${memory.peak.toFixed(0)} MiB ` +
      `(slowest ${gzip.maxMs.toFixed(0)} and ${plain.maxMs.toFixed(0)} ms)`,
  );
  t.same(gzip.statuses, { 200: 256 });
  t.same(plain.statuses, { 200: 256 });
  t.ok(memory.peak - before.peak < 100, `peak grew ${(memory.peak - before.peak).toFixed(0)} MiB`);
  const limited = await serviceHost(t);
  const capped = runClient(limited.ns, 'concurrent', PORT, { count: 256, encoding: 'gzip' });
  t.ok(
    (capped.statuses[503] ?? 0) > 0,
    `--web.max-requests=40 by default: ${JSON.stringify(capped.statuses)}`,
  );
  t.ok((capped.statuses[200] ?? 0) >= 40, 'at least 40 served');
});

t.test('a wrong-password flood leaves an authorised client fast', { skip }, async (t) => {
  const { ns, holder, stopFirst } = testNamespace(t, { prefix: 'sdflood' });
  await holder.send({ op: 'listen', port: 8080 });
  const config = path.join(mkdtempSync(path.join(tmpdir(), 'sockdiag-flood-')), 'web.yml');
  writeFileSync(config, `basic_auth_users:\n  prometheus: '${bcrypt.hashSync('right', 10)}'\n`);
  const exporter = await startExporter(ns, [`--web.config.file=${config}`], PORT, PRODUCTION);
  stopFirst(exporter);
  const result = runClient(ns, 'flood', PORT, {
    connections: 32,
    seconds: 4,
    user: 'prometheus',
    password: 'right',
    path: '/metrics',
  });
  t.comment(
    `32 connections, ${result.attempts} wrong passwords (${JSON.stringify(result.statuses)}); ` +
      `authorised scrapes: p50 ${result.p50.toFixed(0)} ms, p90 ${result.p90.toFixed(0)} ms over ${result.samples}`,
  );
  t.equal(result.primedStatus, 200, 'the authorised client was answered before the flood');
  t.same(Object.keys(result.goodStatuses), ['200'], 'every authorised scrape answered 200');
  t.ok(result.p50 < 200, `authorised p50 ${result.p50.toFixed(0)} ms < 200 ms`);
  t.ok(result.attempts > 32, 'the flood ran');
});
