// How connections end and how many there may be, with the real command
// line in a namespace: SIGTERM with idle and half-sent clients, SIGTERM
// with a client that stopped reading, --web.max-connections, and an open
// files limit (prlimit) that would make accept() fail.
import t from 'tap';
import { holdClient } from '../helpers/clients';
import { type RunningExporter, startExporter } from '../helpers/exporter';
import { testNamespace } from '../helpers/namespaces';
import { unavailable } from '../helpers/requirements';
import { buildServiceTable } from '../helpers/tables';

const skip = unavailable('namespaces');
const PORT = 19561;

/** Sends `signal` and resolves with how long the process took to exit, and its status. */
function stop(exporter: RunningExporter, signal: NodeJS.Signals = 'SIGTERM') {
  const started = Date.now();
  return new Promise<{ ms: number; code: number | null }>((resolve) => {
    exporter.child.once('exit', (code) => resolve({ ms: Date.now() - started, code }));
    exporter.child.kill(signal);
  });
}

const logLines = (exporter: RunningExporter, message: RegExp) =>
  exporter.log.split('\n').filter((line) => message.test(line));

t.test('SIGTERM with idle, kept-alive and half-sent clients exits at once', { skip }, async (t) => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    const { ns, stopFirst } = testNamespace(t, { prefix: 'sdstop' });
    const exporter = await startExporter(ns, [], PORT, { production: true });
    stopFirst(exporter);
    const clients = await holdClient(ns, 'hold', PORT, { idle: 10, partial: 10, kept: 10 });
    t.equal(clients.first.held, 30);
    const { ms, code } = await stop(exporter, signal);
    const held = await clients.release();
    t.comment(`${signal} with 30 idle or half-sent connections: exited in ${ms} ms`);
    t.equal(code, 0, `${signal}: exit status 0`);
    t.ok(ms < 1000, `${signal}: exited in ${ms} ms`);
    t.equal(held.closedByServer, 30, 'the server closed all 30');
    t.equal(logLines(exporter, /"msg":"stopped"/).length, 1);
  }
});

t.test(
  'SIGTERM with a client that stopped reading a scrape: it does not hold the exit',
  { skip },
  async (t) => {
    // Send buffers of at most 64 KiB in this namespace, so that a scrape
    // (about 50 KiB here) to a client that does not read stays half-sent.
    const { ns, holder, stopFirst } = testNamespace(t, {
      prefix: 'sdstop',
      sysctls: { 'net.ipv4.tcp_wmem': '4096 16384 65536' },
    });
    await buildServiceTable(holder, 20, 10);
    const exporter = await startExporter(ns, [], PORT, { production: true });
    stopFirst(exporter);
    // A 4 KiB receive buffer that is never read.
    const { ids } = await holder.send({
      op: 'connect',
      host: '127.0.0.1',
      port: PORT,
      rcvbuf: 4096,
    });
    const request = 'GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n';
    await holder.send({ op: 'send', id: ids[0], text: request.repeat(4) });
    await new Promise((resolve) => setTimeout(resolve, 500));
    const queued = ns.run('ss', ['-Htn', 'state', 'established', `( sport = :${PORT} )`]);
    const sendQ = Number(queued.trim().split(/\s+/)[1]);
    t.ok(sendQ > 30_000, `the scrape is stuck in the send queue (${sendQ} bytes)`);
    const { ms, code } = await stop(exporter);
    t.comment(`SIGTERM with a half-sent scrape to a client that does not read: exited in ${ms} ms`);
    t.equal(code, 0);
    t.ok(ms < 1000, `exited in ${ms} ms`);
  },
);

t.test('--web.max-connections: extra connections closed, with a log line', { skip }, async (t) => {
  const { ns, stopFirst } = testNamespace(t, { prefix: 'sdcap' });
  const exporter = await startExporter(ns, ['--web.max-connections=20'], PORT, {
    production: true,
  });
  stopFirst(exporter);
  const fill = await holdClient(ns, 'fill', PORT, { limit: 60 });
  t.comment(`60 connections against a cap of 20: ${JSON.stringify(fill.first)}`);
  t.ok(fill.first.open <= 20, `${fill.first.open} stay open`);
  const refused = logLines(
    exporter,
    /connection refused: 20 connections are open \(--web\.max-connections\)/,
  );
  t.ok(
    refused.length >= 1 && refused.length <= 2,
    `logged, rate limited (${refused.length} lines for 40)`,
  );
  await fill.release();
  t.equal(exporter.get('/healthz').status, 200, 'served once they are gone');
});

t.test(
  'an open files limit: the cap stays below it and says so',
  { skip: unavailable('namespaces', 'prlimit') },
  async (t) => {
    const { ns, holder, stopFirst } = testNamespace(t, { prefix: 'sdfds' });
    await buildServiceTable(holder, 10, 10);
    const exporter = await startExporter(ns, [], PORT, { production: true, openFiles: 100 });
    stopFirst(exporter);
    const fill = await holdClient(ns, 'fill', PORT, { limit: 150 });
    t.comment(`150 connections under RLIMIT_NOFILE 100: ${JSON.stringify(fill.first)}`);
    t.ok(fill.first.open <= 36, `${fill.first.open} open: 100 less 64 kept for dumps and files`);
    const refused = logLines(
      exporter,
      /connection refused: 36 connections are open \(the open files limit 100 less 64/,
    );
    t.ok(refused.length >= 1, 'the log says why');
    t.ok(refused.length <= 2, `rate limited (${refused.length} lines)`);
    await fill.release();
    // One under the cap, the scrape's own connection the last: its dumps
    // and procfs reads still find descriptors.
    const nearly = await holdClient(ns, 'fill', PORT, { limit: 35 });
    t.equal(nearly.first.open, 35);
    const scrape = exporter.get('/metrics');
    t.equal(scrape.status, 200, 'a scrape at the cap');
    t.match(scrape.body, /sockdiag_scrape_collector_success\{collector="sockets"\} 1/);
    t.match(scrape.body, /sockdiag_scrape_collector_success\{collector="netstat"\} 1/);
    await nearly.release();
  },
);
