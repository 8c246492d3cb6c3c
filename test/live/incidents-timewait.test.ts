// The TIME_WAIT incidents for real: the bucket limit, ports toward one peer,
// and a load balancer that source-NATs its clients onto 64 ports in front of
// a one-request-per-connection server (with timestamps stripped: stale ACKs
// and resets; with them: PAWS rejects). The controls: the same service used
// by a client from its own full port range with timestamps on, which is
// churn and nothing worse.
import { setTimeout as sleep } from 'node:timers/promises';
import t, { type Test } from 'tap';
import { BALANCER_ADDRESS, balancer, SERVER_ADDRESS } from '../helpers/balancer';
import type { SocketHolder } from '../helpers/holder';
import { assertSilent, Lab, rise } from '../helpers/lab';
import { unavailable } from '../helpers/requirements';

const skip = unavailable('namespaces');
const snatSkip = unavailable('namespaces', 'nft');
const POOL: [number, number] = [40000, 40063];

t.test('time_wait_bucket_overflow: tcp_max_tw_buckets=100, 1,000 closes', { skip }, async (t) => {
  const lab = await Lab.create(t, { sysctls: { 'net.ipv4.tcp_max_tw_buckets': 100 } });
  assertSilent(t, lab.scrape(), 'time_wait_bucket_overflow', 'before the event');
  await sleep(100); // the scrape's own TIME_WAIT socket settles
  const n1 = lab.nstat();
  const made = await lab.holder.send({ op: 'timewait', count: 1000 });
  t.equal(made.made, 1000);
  const n2 = lab.nstat();
  const s2 = lab.scrape();
  t.equal(s2.detected('time_wait_bucket_overflow'), 1, 'fires after the event');
  t.ok(rise(n1, n2, 'TcpExt.TCPTimeWaitOverflow') >= 900, 'about 900 closes skipped TIME_WAIT');
  t.ok(
    s2.evidence('time_wait_bucket_overflow', 'TcpExt.TCPTimeWaitOverflow increase')! >=
      rise(n1, n2, 'TcpExt.TCPTimeWaitOverflow'),
    'the window holds the rise nstat saw',
  );
  t.equal(lab.ssCount('time-wait'), 100, 'ss: TIME_WAIT capped at the limit');
  t.equal(s2.evidence('time_wait_bucket_overflow', 'time_wait sockets'), lab.ssCount('time-wait'));
});

t.test('ephemeral_port_exhaustion: 100 ports, 100 connections to one peer', { skip }, async (t) => {
  const lab = await Lab.create(t, { sysctls: { 'net.ipv4.ip_local_port_range': '40000 40099' } });
  const listener = await lab.holder.send({ op: 'listen', port: 9000, backlog: 256 });
  assertSilent(t, lab.scrape(), 'ephemeral_port_exhaustion', 'before the event');
  const opened = await lab.holder.send({
    op: 'connect',
    host: '127.0.0.1',
    port: 9000,
    count: 100,
  });
  t.equal(opened.ids.length, 100);
  await lab.holder.send({ op: 'accept', id: listener.id, count: 100 });
  await t.rejects(
    lab.holder.send({ op: 'connect', host: '127.0.0.1', port: 9000 }),
    /EADDRNOTAVAIL/,
  );
  const s2 = lab.scrape();
  t.equal(s2.detected('ephemeral_port_exhaustion'), 1);
  const ssPorts = lab.ssCount('established', [
    'dport = :9000',
    'and',
    'sport >= :40000',
    'and',
    'sport <= :40099',
  ]);
  t.equal(ssPorts, 100);
  t.equal(s2.evidence('ephemeral_port_exhaustion', 'ports used toward the busiest peer'), ssPorts);
  t.equal(s2.evidence('ephemeral_port_exhaustion', 'ratio'), 1);
});

/** The server's TIME_WAIT sockets on :8080 by peer, from ss: count and port span. */
function timeWaitFromSs(lab: Lab): Map<string, { sockets: number; low: number; high: number }> {
  const out = new Map<string, { sockets: number; low: number; high: number }>();
  for (const row of lab
    .ss(['-tan'])
    .filter((r) => r.state === 'time_wait' && r.localPort === 8080)) {
    const entry = out.get(row.peer) ?? { sockets: 0, low: 65535, high: 0 };
    entry.sockets++;
    entry.low = Math.min(entry.low, row.peerPort);
    entry.high = Math.max(entry.high, row.peerPort);
    out.set(row.peer, entry);
  }
  return out;
}

/** Drives 40 connections/s from the balancer for `seconds`; scrapes twice meanwhile. */
async function churnThroughBalancer(t: Test, lab: Lab, client: SocketHolder, seconds: number) {
  const run = client.send({
    op: 'churn',
    host: SERVER_ADDRESS,
    port: 8080,
    count: seconds * 40,
    rate: 40,
    timeout: 3,
    duration: seconds,
  });
  await sleep(seconds * 400);
  const early = lab.scrape();
  await sleep(seconds * 500);
  const late = lab.scrape();
  const report = lab.doctorJson();
  const ss = timeWaitFromSs(lab);
  const result = (await run) as { made: number; failed: number; reset: number; seconds: number };
  t.comment(`churn: ${JSON.stringify(result)}`);
  return { early, late, report, ss, result };
}

t.test(
  'time_wait_reuse: SNAT onto 64 ports, timestamps stripped',
  { skip: snatSkip },
  async (t) => {
    const lab = await Lab.create(t, { args: ['--collector.incidents.churn-min-opens=2'] });
    await lab.holder.send({ op: 'serve', host: '0.0.0.0', port: 8080 });
    const lb = balancer(t, lab.ns, { pool: POOL, timestamps: 0 });
    const { early, late, report, ss } = await churnThroughBalancer(t, lab, lb.holder, 10);
    const finding = report.findings.find((f) => f.incident === 'time_wait_reuse')!;
    t.equal(late.detected('time_wait_reuse'), 1, 'fires once the table was seen twice');
    t.equal(early.detected('time_wait_reuse'), 0, 'not on the first look');
    t.equal(finding.fired, true, '/doctor too');
    const peer = ss.get(BALANCER_ADDRESS)!;
    t.ok(peer && ss.size === 1, 'ss: every TIME_WAIT socket on :8080 is from the balancer');
    t.ok(
      peer.low >= POOL[0] && peer.high <= POOL[1],
      `ss: its ports ${peer.low}-${peer.high} are the pool`,
    );
    t.match(
      finding.cause,
      /^service port 8080: one peer cycles a pool of \d+ source ports through TIME_WAIT$/,
    );
    t.match(
      finding.details[0],
      /^service port 8080 \(python3\): 100% of its \d+ TIME_WAIT sockets belong to one peer, whose source ports fill \d+ of \d+ \(4\d{4}-4\d{4}\)/,
    );
    t.match(
      finding.details[1],
      /no TCP timestamps: a SYN that lands on a TIME_WAIT socket .* stale ACK, and the client resets/,
    );
    t.notMatch(
      JSON.stringify(finding),
      BALANCER_ADDRESS,
      'the address is not named without the peers collector',
    );
    t.ok(late.evidence('time_wait_reuse', 'connections per TIME_WAIT lifetime per port')! > 1.5);
    t.match(finding.remedy, /larger SNAT pool/);
    t.equal(
      report.findings.find((f) => f.incident === 'paws_rejects')!.fired,
      false,
      'no timestamps, no PAWS',
    );
    const churn = report.findings.find((f) => f.incident === 'connection_churn')!;
    t.equal(churn.fired, true, 'churn with harm fires');
    t.match(churn.cause, /with TIME_WAIT reuse/);
  },
);

t.test(
  'time_wait_reuse and PAWS: SNAT onto 64 ports, timestamps kept',
  { skip: snatSkip },
  async (t) => {
    const lab = await Lab.create(t, { args: ['--collector.peers'] });
    await lab.holder.send({ op: 'serve', host: '0.0.0.0', port: 8080 });
    const lb = balancer(t, lab.ns, { pool: POOL, timestamps: 1 });
    const n1 = lab.nstat();
    const { late, report } = await churnThroughBalancer(t, lab, lb.holder, 10);
    const n2 = lab.nstat();
    t.equal(late.detected('time_wait_reuse'), 1);
    const reuse = report.findings.find((f) => f.incident === 'time_wait_reuse')!;
    t.match(reuse.cause, `peer ${BALANCER_ADDRESS}`, 'named with the peers collector');
    t.match(
      reuse.details[1],
      /timestamps from different clients behind it: SYNs with an older timestamp are dropped by PAWS/,
    );
    const paws = report.findings.find((f) => f.incident === 'paws_rejects')!;
    t.equal(paws.fired, true);
    t.ok(rise(n1, n2, 'TcpExt.PAWSTimewait') > 0, 'nstat: PAWSTimewait rose');
    t.match(paws.cause, /^TcpExt\.PAWSTimewait rose by \d+$/);
    t.match(paws.details, [
      /clients behind one NAT, each with its own timestamp clock/,
      /service port 8080 \(python3\): \d+ of its \d+ server-side TIME_WAIT sockets belong to peer 10\.2\.0\.1/,
    ]);
    t.same(
      paws.evidence.filter((e) => e.unit === 'setting').map((e) => e.name),
      ['net.ipv4.tcp_timestamps'],
      'only the setting that matters to PAWSTimewait',
    );
  },
);

t.test(
  'control: one request per connection, full port range, timestamps on',
  { skip: snatSkip },
  async (t) => {
    const lab = await Lab.create(t, { args: ['--collector.incidents.churn-min-opens=10'] });
    await lab.holder.send({ op: 'serve', host: '0.0.0.0', port: 8080 });
    const client = balancer(t, lab.ns, { timestamps: 1 });
    const n1 = lab.nstat();
    const { late, report, ss, result } = await churnThroughBalancer(t, lab, client.holder, 6);
    const n2 = lab.nstat();
    t.equal(result.failed + result.reset, 0, 'every connection worked');
    const peer = ss.get(BALANCER_ADDRESS)!;
    t.ok(
      peer.high - peer.low > 4 * peer.sockets,
      `ss: ${peer.sockets} TIME_WAIT over ports ${peer.low}-${peer.high}`,
    );
    assertSilent(t, late, 'time_wait_reuse', 'for a client with its whole port range');
    assertSilent(t, late, 'paws_rejects', 'with timestamps on and no reuse');
    t.equal(rise(n1, n2, 'TcpExt.PAWSTimewait'), 0);
    const churn = report.findings.find((f) => f.incident === 'connection_churn')!;
    t.equal(churn.fired, false, 'churn alone does not fire');
    t.equal(churn.notice, true, 'it is reported as informational');
    t.match(churn.cause, /connections opened per second .* informational, no harm seen/);
    t.match(churn.details, [/^service port 8080 \(python3\): \d+ TIME_WAIT sockets$/]);
    t.notOk(
      churn.details.some((d) => d.includes(':19561') || d.includes('port 19561')),
      "not the exporter's own port",
    );
  },
);
