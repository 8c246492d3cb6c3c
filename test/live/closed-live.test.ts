// The closed collector in a real exporter, in namespaces this test makes:
// connections with exactly known byte counts, ended by FIN, by an unread
// close (RST) and by SO_LINGER 0, over IPv4 and IPv6, counted per service
// port, direction and outcome, held against what the traffic did and the
// rises of nstat's counters; a control port that must stay empty; UDP only
// with its flag; the subscription's trace in /proc/net/netlink; lost events
// against a tiny receive buffer; and a namespace of the netns collector,
// whose subscriber must let it go when it is deleted (a veth witness).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t, { type Test } from 'tap';
import { parseMetrics, type RunningExporter, startExporter } from '../helpers/exporter';
import { SocketHolder } from '../helpers/holder';
import { diagSubscriptions, Netns } from '../helpers/namespaces';
import { unavailable } from '../helpers/requirements';

const skip = unavailable('namespaces', 'nstat');
const TRAFFIC = path.join(__dirname, '..', 'helpers', 'closed-traffic.py');
const PORT = 19571;

function namespace(t: Test, prefix = 'sdclosed'): Netns {
  const ns = Netns.create(prefix);
  t.teardown(() => ns.destroy());
  return ns;
}

async function traffic(t: Test, ns: Netns): Promise<SocketHolder> {
  const holder = new SocketHolder(ns.spawn('python3', [TRAFFIC]));
  t.teardown(() => holder.exit());
  return holder;
}

async function exporter(t: Test, ns: Netns, args: string[]): Promise<RunningExporter> {
  const running = await startExporter(ns, args, PORT);
  t.teardown(() => running.stop());
  return running;
}

function scrape(exporter: RunningExporter): Map<string, number> {
  const response = exporter.get('/metrics');
  if (response.status !== 200) throw new Error(`scrape: ${response.status} ${response.body}`);
  return parseMetrics(response.body);
}

const closes = (port: string, direction: string, outcome: string) =>
  `sockdiag_closed_connections_total{port="${port}",direction="${direction}",outcome="${outcome}"}`;

/** Closes of (port, direction) by outcome, zeros left out. */
function outcomes(metrics: Map<string, number>, port: string, direction: string) {
  const out: Record<string, number> = {};
  for (const outcome of ['closed', 'reset', 'unread', 'aborted', 'timeout', 'failed']) {
    const value = metrics.get(closes(port, direction, outcome)) ?? 0;
    if (value) out[outcome] = value;
  }
  return out;
}

function histogram(metrics: Map<string, number>, name: string, port: string, direction: string) {
  const labels = `port="${port}",direction="${direction}"`;
  const bucket = (le: string) => metrics.get(`${name}_bucket{${labels},le="${le}"}`);
  return {
    count: metrics.get(`${name}_count{${labels}}`),
    sum: metrics.get(`${name}_sum{${labels}}`),
    bucket,
  };
}

/** Sum of every closed-connection series matching `filter`. */
function sumOf(metrics: Map<string, number>, filter: RegExp): number {
  let sum = 0;
  for (const [key, value] of metrics) {
    if (key.startsWith('sockdiag_closed_connections_total{') && filter.test(key)) sum += value;
  }
  return sum;
}

function nstat(ns: Netns, history: string): Map<string, number> {
  const out = ns.run('env', [`NSTAT_HISTORY=${history}`, 'nstat', '-azj']);
  return new Map(Object.entries(JSON.parse(out).kernel as Record<string, number>));
}

t.test('counts, bytes and outcomes, held against the traffic and nstat', { skip }, async (t) => {
  const ns = namespace(t);
  const tmp = mkdtempSync(path.join(tmpdir(), 'sdclosed-'));
  t.teardown(() => rmSync(tmp, { recursive: true, force: true }));
  const run = await exporter(t, ns, ['--collector.closed']);
  const holder = await traffic(t, ns);
  // 8080 is outside the ephemeral range, 45000 inside it: only the
  // listener list (refreshed every 5 s) makes 45000's connections inbound.
  await holder.send({ op: 'listen', port: 8080 });
  await holder.send({ op: 'listen', port: 45000, family: 'inet6' });
  await holder.send({ op: 'listen', port: 9090 });
  await holder.send({ op: 'control', port: 9090, count: 5 });
  await sleep(6000);
  const history = path.join(tmp, 'nstat.history');
  const before = nstat(ns, history);
  const runs = [
    { port: 8080, kind: 'fin', count: 200, up: 591, down: 1500 },
    { port: 8080, kind: 'unread', count: 20, up: 300, down: 0 },
    { port: 8080, kind: 'abort', count: 10, up: 100, down: 50 },
    { port: 45000, family: 'inet6', kind: 'fin', count: 50, up: 591, down: 1500 },
  ];
  for (const r of runs) {
    const reply = await holder.send({ op: 'run', ...r });
    t.equal(reply.done, r.count, `${r.count} ${r.kind} connections to ${r.port} as meant`);
  }
  const after = nstat(ns, history);
  await sleep(500); // the subscriber's batches are flushed within 100 ms
  const m = scrape(run);
  t.same(outcomes(m, '8080', 'inbound'), { closed: 200, unread: 20, reset: 10 }, '8080 inbound');
  t.same(outcomes(m, '8080', 'outbound'), { closed: 200, reset: 20 }, '8080 outbound');
  t.same(
    outcomes(m, 'unknown', 'outbound'),
    { aborted: 10 },
    'the clients that aborted with SO_LINGER 0 lost their remote port',
  );
  t.same(outcomes(m, '45000', 'inbound'), { closed: 50 }, 'IPv6, an ephemeral listener port');
  t.same(outcomes(m, '45000', 'outbound'), { closed: 50 }, 'and its clients');
  t.equal(sumOf(m, /port="9090"/), 0, 'the control port, whose connections stay open: nothing');
  t.equal(m.get('sockdiag_closed_events_lost_total'), 0, 'no event lost');

  const received = histogram(m, 'sockdiag_closed_connection_received_bytes', '8080', 'inbound');
  t.equal(received.count, 230, 'every inbound end that carried traffic');
  t.equal(received.sum, 200 * 592 + 20 * 300 + 10 * 100, "exact bytes; a peer's FIN counts one");
  t.same(
    ['64', '256', '1024', '+Inf'].map(received.bucket),
    [0, 10, 230, 230],
    'cumulative buckets: 100 (aborted peers), 300 (unread) and 592 (FIN)',
  );
  const acked = histogram(m, 'sockdiag_closed_connection_acked_bytes', '8080', 'outbound');
  t.same([acked.count, acked.sum], [220, 200 * 593 + 20 * 301], 'client bytes acked: +SYN, +FIN');
  const v6 = histogram(m, 'sockdiag_closed_connection_received_bytes', '45000', 'outbound');
  t.same(
    [v6.count, v6.sum, v6.bucket('1024'), v6.bucket('4096')],
    [50, 50 * 1501, 0, 50],
    'IPv6 clients received 1500 bytes and the FIN',
  );
  const segments = histogram(m, 'sockdiag_closed_connection_segments', '8080', 'inbound');
  t.equal(segments.count, 230, 'segments observed for each');
  t.ok((segments.sum ?? 0) >= 230 * 5, 'at least a handshake, data and FINs each');
  const rtt = histogram(m, 'sockdiag_closed_connection_min_rtt_seconds', '8080', 'inbound');
  t.equal(rtt.bucket('0.01'), 230, 'loopback RTTs, all under 10 ms');
  const retrans = histogram(
    m,
    'sockdiag_closed_connection_retransmitted_segments',
    '8080',
    'inbound',
  );
  t.equal(retrans.bucket('0'), 230, 'no retransmissions on loopback');

  const rise = (key: string) => (after.get(key) ?? 0) - (before.get(key) ?? 0);
  t.equal(
    rise('TcpActiveOpens'),
    sumOf(m, /direction="outbound"/),
    `Tcp.ActiveOpens +${rise('TcpActiveOpens')}: every outbound close`,
  );
  t.equal(
    rise('TcpPassiveOpens'),
    sumOf(m, /direction="inbound"/),
    `Tcp.PassiveOpens +${rise('TcpPassiveOpens')}: every inbound close`,
  );
  t.equal(
    rise('TcpEstabResets'),
    sumOf(m, /outcome="(reset|unread|aborted)"/),
    `Tcp.EstabResets +${rise('TcpEstabResets')}: both ends of each reset`,
  );
  t.equal(
    rise('TcpOutRsts'),
    sumOf(m, /outcome="(unread|aborted)"/),
    `Tcp.OutRsts +${rise('TcpOutRsts')}: the ends that sent them`,
  );
});

t.test('no subscription when off; UDP only with its flag', { skip }, async (t) => {
  const ns = namespace(t);
  const holder = await traffic(t, ns);
  const off = await exporter(t, ns, []);
  t.notOk(scrape(off).has('sockdiag_closed_events_lost_total'), 'off by default: no closed series');
  t.same(diagSubscriptions(ns), [], 'and no sock_diag socket bound to a group');
  await off.stop();
  const tcp = await exporter(t, ns, ['--collector.closed']);
  t.same(diagSubscriptions(ns), ['00000005'], 'on: TCP over IPv4 and IPv6 (groups 1 and 3)');
  await holder.send({ op: 'udp', count: 7 });
  await sleep(500);
  const m = scrape(tcp);
  t.notOk(
    [...m.keys()].some((k) => k.startsWith('sockdiag_closed_udp_sockets_total')),
    'UDP closes are not counted by default',
  );
  await tcp.stop();
  const udp = await exporter(t, ns, ['--collector.closed', '--collector.closed.udp']);
  t.same(diagSubscriptions(ns), ['0000000f'], 'with --collector.closed.udp: the UDP groups too');
  await holder.send({ op: 'udp', count: 7 });
  await sleep(500);
  t.equal(
    scrape(udp).get('sockdiag_closed_udp_sockets_total{port="53",direction="outbound"}'),
    7,
    'each UDP client socket to port 53',
  );
});

t.test('a burst against a tiny receive buffer: lost events counted', { skip }, async (t) => {
  const ns = namespace(t);
  const holder = await traffic(t, ns);
  const run = await exporter(t, ns, [
    '--collector.closed',
    '--collector.closed.receive-buffer-bytes=1',
  ]);
  await holder.send({ op: 'listen', port: 8080 });
  await sleep(6000); // the listener list
  const reply = await holder.send({ op: 'burst', port: 8080, count: 1500 });
  t.equal(reply.closed, 3000, '1500 pairs closed at once');
  await sleep(1000);
  const m = scrape(run);
  const lost = m.get('sockdiag_closed_events_lost_total') ?? 0;
  const counted = sumOf(m, /port="(8080|unknown|other)"/);
  t.ok(lost > 0, `${lost} events lost, and the exporter goes on`);
  t.equal(counted + lost, 3000, `counted ${counted} + lost ${lost} = every socket closed`);
  const doctor = run.get('/doctor').body;
  t.match(
    doctor,
    /closed connections: \d+ destroy events lost since the subscription .*lower bound/,
    '/doctor says the figures are a lower bound',
  );
});

t.test('another namespace: its own subscriber, gone with it', { skip }, async (t) => {
  const host = namespace(t, 'sdclosedhost');
  const pod = Netns.create('sdclosedpod');
  t.teardown(() => pod.destroy());
  const witness = namespace(t, 'sdclosedwit');
  // A veth pair from the pod to the witness: while anything pins the pod's
  // namespace, the witness keeps its end.
  execFileSync('ip', [
    'link',
    'add',
    'cA',
    'netns',
    pod.name,
    'type',
    'veth',
    'peer',
    'name',
    'cB',
    'netns',
    witness.name,
  ]);
  const peerExists = () => spawnSync('ip', ['-n', witness.name, 'link', 'show', 'cB']).status === 0;
  const holder = await traffic(t, pod);
  await holder.send({ op: 'listen', port: 8080 });
  const run = await exporter(t, host, [
    '--collector.closed',
    '--collector.netns',
    `--collector.netns.include=^${pod.name}$`,
  ]);
  scrape(run); // the namespace is found and subscribed at the first scrape
  await sleep(6000);
  const reply = await holder.send({
    op: 'run',
    port: 8080,
    kind: 'fin',
    count: 30,
    up: 10,
    down: 20,
  });
  t.equal(reply.done, 30, '30 connections in the pod');
  await sleep(500);
  const m = scrape(run);
  const inPod = (direction: string) =>
    m.get(
      `sockdiag_closed_connections_total{port="8080",direction="${direction}",outcome="closed",netns="${pod.name}"}`,
    );
  t.same(
    [inPod('inbound'), inPod('outbound')],
    [30, 30],
    "the pod's closes, labelled with its netns",
  );
  t.equal(sumOf(m, /port="8080"(?!.*netns)/), 0, "none of them in the exporter's own namespace");
  await holder.exit();
  pod.destroy();
  await sleep(500);
  t.ok(peerExists(), 'deleted, but still pinned by the handle and the subscriber');
  scrape(run); // the refresh finds it gone
  const deadline = Date.now() + 10_000;
  while (peerExists() && Date.now() < deadline) await sleep(100);
  t.notOk(peerExists(), 'both let go at the refresh: the namespace is freed');
});

t.test('--collector.closed.netns-limit bounds the subscribers', { skip }, async (t) => {
  const host = namespace(t, 'sdclosedhost');
  const pods = [namespace(t, 'sdclosedlim'), namespace(t, 'sdclosedlim')];
  const run = await exporter(t, host, [
    '--collector.closed',
    '--collector.closed.netns-limit=1',
    '--collector.netns',
    `--collector.netns.include=^(${pods.map((p) => p.name).join('|')})$`,
  ]);
  scrape(run);
  const before = diagSubscriptions(pods[0]!).length + diagSubscriptions(pods[1]!).length;
  t.equal(before, 1, 'one subscriber for two namespaces');
  const m = scrape(run);
  const labelled = pods.filter((p) =>
    [...m.keys()].some(
      (k) => k.startsWith('sockdiag_closed_events_lost_total') && k.includes(`netns="${p.name}"`),
    ),
  );
  t.equal(labelled.length, 1, 'closed-connection series for that one only');
  t.match(
    run.get('/doctor').body,
    /1 namespaces have no closed-connection subscriber \(beyond --collector.closed.netns-limit/,
    '/doctor says why the other has none',
  );
});
