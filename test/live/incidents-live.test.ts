// Every incident check reproduced for real, each in its own network namespace
// with its own sysctls: the exporter runs there, is scraped once or twice
// before the event (so rates have a baseline and the check is seen silent),
// and once after it (the check fires). The evidence is held against the
// kernel's own tools run in the same namespace: `ss` for sockets and queues,
// `nstat -az` (history in a temp file) for the counters.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t, { type Test } from 'tap';
import { unavailable } from '../helpers/requirements';
import { INCIDENT_NAMES } from '../../src/incidents/definitions';
import { parseMetrics, type RunningExporter, startExporter } from '../helpers/exporter';
import { type SocketHolder } from '../helpers/holder';
import { type Netns, testNamespace } from '../helpers/namespaces';
import { parseSs, type SsRow } from '../helpers/ss';
import { CLI } from '../helpers/paths';

const EXPORTER_PORT = 19561;
// Every check the engine has (test/incidents.test.ts pins the list and its order).
const INCIDENTS = INCIDENT_NAMES;
/** The low thresholds the scenarios below need; the quiet namespace runs with all of them. */
const LOW = {
  keepalive: '--collector.incidents.keepalive-idle=2',
  churn: '--collector.incidents.churn-min-opens=20',
  resets: '--collector.incidents.resets-rate=2',
};

interface Finding {
  incident: string;
  fired: boolean;
  evaluated: boolean;
  reason?: string;
  details: string[];
  evidence: { name: string; value: number; unit: string }[];
}

class Scrape {
  constructor(
    readonly metrics: Map<string, number>,
    /** Wall-clock bounds of the request: the exporter read the kernel in between. */
    readonly started: number,
    readonly finished: number,
  ) {}

  detected(incident: string): number | undefined {
    return this.metrics.get(`sockdiag_incident_detected{incident="${incident}"}`);
  }

  evaluated(incident: string): number | undefined {
    return this.metrics.get(`sockdiag_incident_evaluated{incident="${incident}"}`);
  }

  evidence(incident: string, name: string): number | undefined {
    const labels = `{incident="${incident}",evidence="${name}"}`;
    return this.metrics.get(`sockdiag_incident_evidence${labels}`);
  }
}

/** One namespace with its sysctls, a socket holder and the exporter. */
class Lab {
  private readonly tmp = mkdtempSync(path.join(tmpdir(), 'sdincident-'));
  holder!: SocketHolder;
  exporter?: RunningExporter;

  private constructor(readonly ns: Netns) {}

  static async create(
    t: Test,
    options: { sysctls?: Record<string, string | number>; args?: string[] } = {},
  ): Promise<Lab> {
    const { ns, holder, stopFirst } = testNamespace(t, {
      prefix: 'sdinc',
      sysctls: options.sysctls ?? {},
    });
    const lab = new Lab(ns);
    t.teardown(() => rmSync(lab.tmp, { recursive: true, force: true }));
    lab.holder = holder;
    lab.exporter = await startExporter(ns, options.args ?? [], EXPORTER_PORT);
    stopFirst(lab.exporter);
    return lab;
  }

  scrape(): Scrape {
    const started = Date.now();
    const response = this.exporter!.get('/metrics');
    const finished = Date.now();
    if (response.status !== 200) throw new Error(`scrape: ${response.status} ${response.body}`);
    return new Scrape(parseMetrics(response.body), started, finished);
  }

  doctorJson(): { healthy: boolean; findings: Finding[] } {
    const response = this.exporter!.get('/doctor', { Accept: 'application/json' });
    if (response.status !== 200) throw new Error(`/doctor: ${response.status} ${response.body}`);
    return JSON.parse(response.body);
  }

  /** `nstat -az` in the namespace: absolute values, e.g. "TcpExtListenOverflows". */
  nstat(): Map<string, number> {
    const out = this.ns.run('env', [
      `NSTAT_HISTORY=${path.join(this.tmp, 'nstat.history')}`,
      'nstat',
      '-azj',
    ]);
    return new Map(Object.entries(JSON.parse(out).kernel as Record<string, number>));
  }

  /** `ss -H ARGS`, rows other than the exporter's own connections. */
  ss(args: string[]): SsRow[] {
    return parseSs(this.ns.run('ss', ['-H', ...args])).filter(
      (row) => row.localPort !== EXPORTER_PORT && row.peerPort !== EXPORTER_PORT,
    );
  }

  /** Lines of `ss -Htan state STATE [filter]` (a state filter drops ss's State column). */
  ssCount(state: string, filter: string[] = []): number {
    return this.ns
      .run('ss', ['-Htan', 'state', state, ...filter])
      .split('\n')
      .filter((line) => line.trim() !== '').length;
  }

  /** Runs `sockdiag-exporter doctor` in the namespace; its exit status and output. */
  doctor(args: string[]): { status: number; stdout: string } {
    try {
      return { status: 0, stdout: this.ns.run(process.execPath, [CLI, 'doctor', ...args]) };
    } catch (error) {
      const { status, stdout } = error as { status: number; stdout: string };
      return { status, stdout: String(stdout) };
    }
  }
}

/** TCP sockets with a non-zero drop counter in `ss -tanm`, and the sum of those counters. */
function dropsBySs(lab: Lab): { sockets: number; drops: number } {
  const drops = parseSs(lab.ns.run('ss', ['-Htanm']))
    .map((row) => row.skmem?.d ?? 0)
    .filter((d) => d > 0);
  return { sockets: drops.length, drops: drops.reduce((sum, d) => sum + d, 0) };
}

/** nstat's name for an exporter key: "TcpExt.ListenOverflows" -> "TcpExtListenOverflows". */
function nstatName(key: string): string {
  return key.replace('.', '');
}

function rise(before: Map<string, number>, after: Map<string, number>, key: string): number {
  const name = nstatName(key);
  const a = after.get(name);
  const b = before.get(name);
  if (a === undefined || b === undefined) throw new Error(`nstat has no ${name}`);
  return a - b;
}

/** The check is evaluated on this scrape and did not fire. */
function assertSilent(t: Test, scrape: Scrape, incident: string, when: string): void {
  t.equal(scrape.evaluated(incident), 1, `${incident} evaluated ${when}`);
  t.equal(scrape.detected(incident), 0, `${incident} silent ${when}`);
}

/** Counter rises in the evidence equal nstat's over the same window. */
function assertRises(
  t: Test,
  scrape: Scrape,
  incident: string,
  keys: string[],
  before: Map<string, number>,
  after: Map<string, number>,
): void {
  for (const key of keys) {
    t.equal(
      scrape.evidence(incident, `${key} increase`),
      rise(before, after, key),
      `${incident}: ${key} increase equals nstat's`,
    );
  }
}

const skip = unavailable('namespaces');

t.test('accept_queue_overflow: backlog 2, 3 queued, 7 more SYNs dropped', { skip }, async (t) => {
  const lab = await Lab.create(t);
  const listener = await lab.holder.send({ op: 'listen', backlog: 2 });
  const port = listener.port as number;
  lab.scrape();
  const s1 = lab.scrape();
  assertSilent(t, s1, 'accept_queue_overflow', 'before the event');
  const n1 = lab.nstat();

  // The accept queue holds backlog + 1 = 3; each further SYN is dropped at
  // the listener (ListenOverflows, ListenDrops). The 7 clients are closed
  // in SYN_SENT at once, so no SYN retransmit lands later.
  await lab.holder.send({ op: 'connect', host: '127.0.0.1', port, count: 3 });
  const pending = await lab.holder.send({
    op: 'connect',
    host: '127.0.0.1',
    port,
    count: 7,
    wait: false,
  });
  await lab.holder.send({ op: 'close', ids: pending.ids });

  const n2 = lab.nstat();
  const s2 = lab.scrape();
  t.equal(s2.detected('accept_queue_overflow'), 1, 'fires after the event');
  assertRises(
    t,
    s2,
    'accept_queue_overflow',
    ['TcpExt.ListenOverflows', 'TcpExt.ListenDrops'],
    n1,
    n2,
  );
  // At least 7: a SYN retransmit (after 1 s) before the close would add one.
  t.ok(rise(n1, n2, 'TcpExt.ListenOverflows') >= 7, 'seven SYNs found the queue full');
  t.equal(
    s2.evidence('accept_queue_overflow', 'listener drops increase'),
    rise(n1, n2, 'TcpExt.ListenDrops'),
    "the listener's own drop counter agrees with ListenDrops",
  );
  t.equal(s2.evidence('accept_queue_overflow', 'listeners with a full accept queue'), 1);

  const [ss] = lab.ss(['-ltn', `sport = :${port}`]);
  t.ok(ss, 'ss sees the listener');
  t.equal(ss?.recvQ, 3, 'ss Recv-Q: 3 waiting for accept()');
  t.equal(ss?.sendQ, 2, 'ss Send-Q: backlog 2');
  const labels = `{family="inet",address="127.0.0.1",port="${port}"}`;
  t.equal(s2.metrics.get(`sockdiag_listener_accept_queue_length${labels}`), ss?.recvQ);
  t.equal(s2.metrics.get(`sockdiag_listener_accept_queue_limit${labels}`), ss?.sendQ);
  const report = lab.doctorJson();
  const finding = report.findings.find((f) => f.incident === 'accept_queue_overflow')!;
  t.equal(report.healthy, false);
  t.equal(report.findings[0]?.incident, 'accept_queue_overflow', 'first in the report');
  const full = `127.0.0.1:${port}: accept queue ${ss?.recvQ} of ${ss?.sendQ} (full)`;
  t.ok(finding.details.includes(full), 'the report names the listener with ss numbers');

  const doctor = lab.doctor(['--doctor.interval=0.2']);
  t.equal(doctor.status, 1, 'doctor exits 1');
  t.match(doctor.stdout, /^sockdiag doctor: 1 incident detected/);
  t.match(doctor.stdout, /\n1\. accept_queue_overflow: /);
  t.match(doctor.stdout, `127.0.0.1:${port}: accept queue 3 of 2 (full)`);
  const json = lab.doctor(['--doctor.interval=0', '--doctor.format=json']);
  t.equal(json.status, 1);
  t.equal(JSON.parse(json.stdout).findings[0].incident, 'accept_queue_overflow');
});

t.test('syn_queue_overflow: cookies off, SYNs that never complete', { skip }, async (t) => {
  // The SYNs come from 10.66.0.1, routed to lo but assigned nowhere: the
  // SYN-ACKs loop back to nobody and the requests stay SYN_RECV.
  const lab = await Lab.create(t, { sysctls: { 'net.ipv4.tcp_syncookies': 0 } });
  lab.ns.run('ip', ['route', 'add', '10.66.0.0/16', 'dev', 'lo']);
  const listener = await lab.holder.send({ op: 'listen', backlog: 4 });
  const port = listener.port as number;
  lab.scrape();
  const s1 = lab.scrape();
  assertSilent(t, s1, 'syn_queue_overflow', 'before the event');
  const n1 = lab.nstat();

  await lab.holder.send({ op: 'synFlood', source: '10.66.0.1', port, count: 12 });

  const n2 = lab.nstat();
  const s2 = lab.scrape();
  t.equal(s2.detected('syn_queue_overflow'), 1, 'fires after the event');
  assertRises(t, s2, 'syn_queue_overflow', ['TcpExt.TCPReqQFullDrop'], n1, n2);
  t.equal(rise(n1, n2, 'TcpExt.TCPReqQFullDrop'), 7, 'queue of 4 (+1) took 5, dropped 7');
  const halfOpen = lab.ssCount('syn-recv', [`sport = :${port}`]);
  t.equal(halfOpen, 5, 'ss: 5 SYN_RECV');
  t.equal(s2.evidence('syn_queue_overflow', 'most half-open sockets at one listener'), halfOpen);
  const [ss] = lab.ss(['-ltn', `sport = :${port}`]);
  t.equal(s2.evidence('syn_queue_overflow', 'SYN queue limit of that listener'), ss?.sendQ);
  t.equal(
    s2.metrics.get(
      `sockdiag_listener_half_open_sockets{family="inet",address="127.0.0.1",port="${port}"}`,
    ),
    halfOpen,
  );
  // ListenDrops rose too (SYN-queue drops are listener drops), yet the
  // accept queue is empty: accept_queue_overflow must not fire.
  t.equal(rise(n1, n2, 'TcpExt.ListenDrops'), 7);
  t.equal(s2.evidence('accept_queue_overflow', 'TcpExt.ListenDrops increase'), 7);
  t.equal(s2.detected('accept_queue_overflow'), 0, 'not blamed on accept()');
  const finding = lab.doctorJson().findings.find((f) => f.incident === 'syn_queue_overflow')!;
  t.ok(finding.fired, 'still fired on /doctor: the half-open sockets are there');
  t.match(finding.details, [
    `127.0.0.1:${port}: 5 half-open (SYN_RECV), SYN queue limit 4 (listen backlog 4)`,
  ]);
});

t.test('syn_cookies: a full SYN queue gets cookies, then tcp_syncookies=2', { skip }, async (t) => {
  // tcp_syncookies=1 (the default): SYNs beyond a full SYN queue get a
  // cookie instead of a queue slot. The SYNs come from an address routed to
  // lo but assigned nowhere, so they never complete.
  const lab = await Lab.create(t);
  lab.ns.run('ip', ['route', 'add', '10.66.0.0/16', 'dev', 'lo']);
  const listener = await lab.holder.send({ op: 'listen', backlog: 4 });
  lab.scrape();
  const s1 = lab.scrape();
  assertSilent(t, s1, 'syn_cookies', 'before the event');
  const n1 = lab.nstat();
  await lab.holder.send({ op: 'synFlood', source: '10.66.0.1', port: listener.port, count: 12 });
  const n2 = lab.nstat();
  const s2 = lab.scrape();
  t.equal(s2.detected('syn_cookies'), 1, 'fires after the event');
  assertRises(t, s2, 'syn_cookies', ['TcpExt.SyncookiesSent', 'TcpExt.SyncookiesFailed'], n1, n2);
  t.equal(rise(n1, n2, 'TcpExt.SyncookiesSent'), 7, 'nstat: 5 queued, 7 cookies');
  assertRises(t, s2, 'syn_queue_overflow', ['TcpExt.TCPReqQFullDoCookies'], n1, n2);
  t.equal(s2.evidence('syn_cookies', 'net.ipv4.tcp_syncookies'), 1);
  t.equal(s2.evidence('syn_queue_overflow', 'TcpExt.TCPReqQFullDrop increase'), 0, 'no drops');
  t.equal(lab.ssCount('syn-recv', [`sport = :${listener.port}`]), 5, 'ss: the queue, full');
  t.equal(s2.evidence('syn_queue_overflow', 'most half-open sockets at one listener'), 5);
  t.equal(s2.detected('syn_queue_overflow'), 1, 'the full SYN queue is shown too');

  // tcp_syncookies=2: every SYN gets a cookie, the scrape's own included,
  // so count the counters after each scrape.
  lab.ns.sysctl('net.ipv4.tcp_syncookies', 2);
  const open = await lab.holder.send({ op: 'listen', backlog: 16 });
  lab.scrape();
  const n3 = lab.nstat();
  await lab.holder.send({ op: 'connect', host: '127.0.0.1', port: open.port, count: 5 });
  await lab.holder.send({ op: 'accept', id: open.id, count: 5 });
  const s4 = lab.scrape();
  const n4 = lab.nstat();
  t.equal(s4.detected('syn_cookies'), 1, 'fires with tcp_syncookies=2');
  assertRises(t, s4, 'syn_cookies', ['TcpExt.SyncookiesSent', 'TcpExt.SyncookiesFailed'], n3, n4);
  t.equal(rise(n3, n4, 'TcpExt.SyncookiesSent'), 6, 'five connects and the scrape');
  t.equal(rise(n3, n4, 'TcpExt.SyncookiesRecv'), 6, 'all completed with valid cookies');
  t.equal(s4.evidence('syn_cookies', 'net.ipv4.tcp_syncookies'), 2);
  t.equal(lab.ssCount('established', [`sport = :${open.port}`]), 5);
  t.equal(s4.detected('accept_queue_overflow'), 0);
});

t.test('time_wait_bucket_overflow: tcp_max_tw_buckets=100, 1,000 closes', { skip }, async (t) => {
  const lab = await Lab.create(t, { sysctls: { 'net.ipv4.tcp_max_tw_buckets': 100 } });
  lab.scrape();
  const s1 = lab.scrape();
  assertSilent(t, s1, 'time_wait_bucket_overflow', 'before the event');
  t.equal(s1.evidence('time_wait_bucket_overflow', 'net.ipv4.tcp_max_tw_buckets'), 100);
  await sleep(100); // the scrapes' own TIME_WAIT sockets settle (below the limit)
  // nstat before the scrape this time: a scrape's close overflows too once full.
  const n1 = lab.nstat();
  const made = await lab.holder.send({ op: 'timewait', count: 1000 });
  t.equal(made.made, 1000);
  const n2 = lab.nstat();
  const s2 = lab.scrape();
  t.equal(s2.detected('time_wait_bucket_overflow'), 1, 'fires after the event');
  assertRises(t, s2, 'time_wait_bucket_overflow', ['TcpExt.TCPTimeWaitOverflow'], n1, n2);
  t.ok(rise(n1, n2, 'TcpExt.TCPTimeWaitOverflow') >= 900, 'about 900 closes skipped TIME_WAIT');
  t.equal(
    rise(n1, n2, 'TcpExt.TW') + rise(n1, n2, 'TcpExt.TCPTimeWaitOverflow'),
    1000,
    'nstat: every close either entered TIME_WAIT or overflowed',
  );
  const timeWait = lab.ssCount('time-wait');
  t.equal(timeWait, 100, 'ss: TIME_WAIT capped at the limit');
  t.equal(s2.evidence('time_wait_bucket_overflow', 'time_wait sockets'), timeWait);
});

t.test('ephemeral_port_exhaustion: 100 ports, 100 connections to one peer', { skip }, async (t) => {
  const lab = await Lab.create(t, {
    sysctls: { 'net.ipv4.ip_local_port_range': '40000 40099' },
  });
  const listener = await lab.holder.send({ op: 'listen', port: 9000, backlog: 256 });
  lab.scrape();
  const s1 = lab.scrape();
  assertSilent(t, s1, 'ephemeral_port_exhaustion', 'before the event');
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
    'the 101st connect to that peer finds no port',
  );
  const s2 = lab.scrape();
  t.equal(s2.detected('ephemeral_port_exhaustion'), 1, 'fires after the event');
  const ssPorts = lab.ssCount('established', [
    'dport = :9000',
    'and',
    'sport >= :40000',
    'and',
    'sport <= :40099',
  ]);
  t.equal(ssPorts, 100, 'ss: 100 connections from ephemeral ports to 127.0.0.1:9000');
  t.equal(s2.evidence('ephemeral_port_exhaustion', 'ports used toward the busiest peer'), ssPorts);
  t.equal(s2.evidence('ephemeral_port_exhaustion', 'ip_local_port_range size'), 100);
  t.equal(s2.evidence('ephemeral_port_exhaustion', 'ratio'), 1);
});

t.test('paws_rejects: SYNs to TIME_WAIT sockets with an older timestamp', { skip }, async (t) => {
  // The NAT incident in miniature: the same (address, port) comes back
  // with another timestamp clock. With tcp_timestamps=1 each connection's
  // TSval has a random per-4-tuple offset; the holder keeps server-side
  // TIME_WAIT sockets whose offset was ahead; the new SYNs are sent with
  // tcp_timestamps=2 (no offset), so they carry older TSvals (PAWSTimewait).
  const lab = await Lab.create(t);
  lab.scrape();
  const s1 = lab.scrape();
  assertSilent(t, s1, 'paws_rejects', 'before the event');
  const n1 = lab.nstat();
  const tw = await lab.holder.send({ op: 'timewaitAhead', bind: '127.0.0.2', count: 3 });
  t.equal(tw.clientPorts.length, 3, `3 TIME_WAIT sockets ahead (${tw.tries} tries)`);
  lab.ns.sysctl('net.ipv4.tcp_timestamps', 2);
  for (const bindPort of tw.clientPorts as number[]) {
    await lab.holder.send({
      op: 'connect',
      host: '127.0.0.1',
      port: tw.port,
      bind: '127.0.0.2',
      bindPort,
    });
  }
  lab.ns.sysctl('net.ipv4.tcp_timestamps', 1);
  const n2 = lab.nstat();
  const s2 = lab.scrape();
  t.equal(s2.detected('paws_rejects'), 1, 'fires after the event');
  assertRises(
    t,
    s2,
    'paws_rejects',
    ['TcpExt.PAWSActive', 'TcpExt.PAWSEstab', 'TcpExt.PAWSTimewait', 'TcpExt.TCPACKSkippedPAWS'],
    n1,
    n2,
  );
  t.equal(rise(n1, n2, 'TcpExt.PAWSTimewait'), 3, 'one reject per SYN');
  t.equal(s2.evidence('paws_rejects', 'net.ipv4.tcp_timestamps'), 1);
  t.equal(
    s2.evidence('paws_rejects', 'net.ipv4.tcp_tw_reuse'),
    Number(lab.ns.readSysctl('net.ipv4.tcp_tw_reuse')),
  );
  t.equal(s2.evidence('paws_rejects', 'net.ipv4.tcp_tw_recycle'), undefined, 'gone since 4.12');
  const finding = lab.doctorJson().findings.find((f) => f.incident === 'paws_rejects')!;
  t.match(finding.details, [/tcp_tw_recycle does not exist/]);
});

t.test('receive_buffer_collapse: tiny SO_RCVBUF, readers that never read', { skip }, async (t) => {
  const lab = await Lab.create(t);
  const listener = await lab.holder.send({ op: 'listen' });
  // Two receivers shrink their buffers after the handshake, when the
  // window they advertised is already large; they never read. One gets
  // 100-byte segments (collapsed into fewer buffers), the other 64 KiB
  // ones (pruned, then dropped: the socket's drop counter).
  const small = await lab.holder.send({ op: 'connect', host: '127.0.0.1', port: listener.port });
  await lab.holder.send({ op: 'accept', id: listener.id, rcvbuf: 4096 });
  const large = await lab.holder.send({ op: 'connect', host: '127.0.0.1', port: listener.port });
  await lab.holder.send({ op: 'accept', id: listener.id, rcvbuf: 4096 });
  lab.scrape();
  const s1 = lab.scrape();
  assertSilent(t, s1, 'receive_buffer_collapse', 'before the event');
  const n1 = lab.nstat();
  await lab.holder.send({
    op: 'send',
    id: small.ids[0],
    bytes: 1_000_000,
    chunk: 100,
    nodelay: true,
    timeout: 0.3,
  });
  await lab.holder.send({
    op: 'send',
    id: large.ids[0],
    bytes: 2_000_000,
    timeout: 0.3,
  });
  await sleep(200); // most of the retransmits into the full buffers are over
  // The sender's retransmits and window probes keep meeting the full
  // buffers, so the sockets' drop counters (ss -m d) keep creeping up:
  // ss and nstat are read just before and just after the scrape, and the
  // exporter must lie between the two (equal when nothing moved).
  const ssBefore = dropsBySs(lab);
  const n2 = lab.nstat();
  const s2 = lab.scrape();
  const n3 = lab.nstat();
  const ssAfter = dropsBySs(lab);
  t.equal(s2.detected('receive_buffer_collapse'), 1, 'fires after the event');
  for (const key of [
    'TcpExt.TCPRcvCollapsed',
    'TcpExt.PruneCalled',
    'TcpExt.RcvPruned',
    'TcpExt.TCPRcvQDrop',
  ]) {
    const value = s2.evidence('receive_buffer_collapse', `${key} increase`)!;
    const [low, high] = [rise(n1, n2, key), rise(n1, n3, key)];
    t.ok(low > 0, `nstat: ${key} rose by ${low}`);
    t.ok(value >= low && value <= high, `${key} increase ${value}: nstat says ${low}..${high}`);
  }
  const sockets = s2.evidence('receive_buffer_collapse', 'sockets with drops')!;
  const drops = s2.evidence('receive_buffer_collapse', 'drops on live sockets')!;
  t.ok(ssBefore.sockets > 0, 'ss -m: a receiver has drops');
  t.ok(
    sockets >= ssBefore.sockets && sockets <= ssAfter.sockets,
    `sockets with drops ${sockets}: ss -m says ${ssBefore.sockets}..${ssAfter.sockets}`,
  );
  t.ok(
    drops >= ssBefore.drops && drops <= ssAfter.drops,
    `drops ${drops}: the sum of ss -m d is ${ssBefore.drops}..${ssAfter.drops}`,
  );
});

t.test(
  'keepalive_ghosts: idle ESTABLISHED without SO_KEEPALIVE, threshold 2 s',
  { skip },
  async (t) => {
    const lab = await Lab.create(t, { args: [LOW.keepalive] });
    const s0 = lab.scrape();
    assertSilent(t, s0, 'keepalive_ghosts', 'with nothing established');
    const created = Date.now();
    const plain = await lab.holder.send({ op: 'listen' });
    await lab.holder.send({ op: 'connect', host: '127.0.0.1', port: plain.port, count: 3 });
    await lab.holder.send({ op: 'accept', id: plain.id, count: 3 });
    const kept = await lab.holder.send({ op: 'listen', keepalive: true });
    await lab.holder.send({
      op: 'connect',
      host: '127.0.0.1',
      port: kept.port,
      count: 2,
      keepalive: true,
    });
    await lab.holder.send({ op: 'accept', id: kept.id, count: 2 });
    const s1 = lab.scrape();
    assertSilent(t, s1, 'keepalive_ghosts', 'while the connections are fresh');
    await sleep(created + 2300 - Date.now());
    const s2 = lab.scrape();
    t.equal(s2.detected('keepalive_ghosts'), 1, 'fires once they idle past 2 s');
    const established = lab.ss(['-tnoa']).filter((row) => row.state === 'established');
    const withoutTimer = established.filter((row) => row.timer === undefined);
    const withKeepalive = established.filter((row) => row.timer === 'keepalive');
    t.equal(withoutTimer.length, 6, 'ss -o: 6 sockets with no timer (both ends of 3)');
    t.equal(withKeepalive.length, 4, 'ss -o: 4 with a keepalive timer, not counted');
    t.equal(
      s2.evidence('keepalive_ghosts', 'established, no keepalive, idle > 2 s'),
      withoutTimer.length,
    );
  },
);

t.test('connection_churn: 100 one-shot connections between two scrapes', { skip }, async (t) => {
  const lab = await Lab.create(t, { args: [LOW.churn] });
  lab.scrape();
  const s1 = lab.scrape();
  assertSilent(t, s1, 'connection_churn', 'with only the scrapes connecting');
  // Opens happen at the scrape's own connect: nstat after each scrape.
  const n1 = lab.nstat();
  const first = await lab.holder.send({ op: 'timewait', count: 100, keepListener: true });
  const s2 = lab.scrape();
  const n2 = lab.nstat();
  t.equal(s2.detected('connection_churn'), 1, 'fires after the event');
  assertRises(t, s2, 'connection_churn', ['Tcp.ActiveOpens', 'Tcp.PassiveOpens'], n1, n2);
  const opens = rise(n1, n2, 'Tcp.ActiveOpens') + rise(n1, n2, 'Tcp.PassiveOpens');
  t.equal(opens, 202, '100 connections and the scrape, both ends');
  const rate = s2.evidence('connection_churn', 'connections opened per second')!;
  const longest = (s2.finished - s1.started) / 1000;
  const shortest = (s2.started - s1.finished) / 1000;
  t.ok(
    rate >= opens / longest && rate <= opens / shortest,
    `${rate.toFixed(1)}/s is ${opens} opens over the time between the scrapes`,
  );

  // Again, read through /doctor: the busiest TIME_WAIT service ports.
  const second = await lab.holder.send({ op: 'timewait', count: 100, keepListener: true });
  const finding = lab.doctorJson().findings.find((f) => f.incident === 'connection_churn')!;
  t.ok(finding.fired, '/doctor fires too');
  for (const port of [first.port, second.port]) {
    const count = lab.ssCount('time-wait', [`dport = :${port}`, 'or', `sport = :${port}`]);
    t.equal(count, 100, `ss: 100 TIME_WAIT toward :${port}`);
    t.ok(
      finding.details.includes(`service port ${port}: ${count} TIME_WAIT sockets`),
      `details name service port ${port}`,
    );
  }
});

t.test('resets: connects to a closed port and linger-0 closes', { skip }, async (t) => {
  const lab = await Lab.create(t, { args: [LOW.resets] });
  const listener = await lab.holder.send({ op: 'listen' });
  const pairs = await lab.holder.send({
    op: 'connect',
    host: '127.0.0.1',
    port: listener.port,
    count: 5,
  });
  await lab.holder.send({ op: 'accept', id: listener.id, count: 5 });
  lab.scrape();
  const s1 = lab.scrape();
  assertSilent(t, s1, 'resets', 'before the event');
  const n1 = lab.nstat();
  await lab.holder.send({ op: 'connect', host: '127.0.0.1', port: 9, count: 10 });
  await lab.holder.send({ op: 'close', ids: pairs.ids, linger0: true });
  const s2 = lab.scrape();
  const n2 = lab.nstat();
  t.equal(s2.detected('resets'), 1, 'fires after the event');
  const keys = ['Tcp.OutRsts', 'Tcp.EstabResets', 'Tcp.AttemptFails'];
  assertRises(t, s2, 'resets', keys, n1, n2);
  t.equal(rise(n1, n2, 'Tcp.OutRsts'), 15, '10 refused SYNs and 5 aborts');
  t.equal(rise(n1, n2, 'Tcp.AttemptFails'), 10, 'the refused connects');
  t.equal(rise(n1, n2, 'Tcp.EstabResets'), 10, 'both ends of the 5 aborted connections');
  const rate = s2.evidence('resets', 'Tcp.OutRsts per second')!;
  const longest = (s2.finished - s1.started) / 1000;
  t.ok(rate >= 15 / longest, `${rate.toFixed(1)} RSTs/s`);
});

t.test(
  'a quiet namespace: every check silent, empty report, doctor exits 0',
  { skip },
  async (t) => {
    const args = [LOW.keepalive, LOW.churn, LOW.resets];
    const lab = await Lab.create(t, { args });
    const s0 = lab.scrape();
    for (const incident of INCIDENTS) t.equal(s0.detected(incident), 0, `${incident} first scrape`);
    t.equal(s0.evaluated('resets'), 0, 'rates have no opinion on the first scrape');
    await sleep(1000);
    const s1 = lab.scrape();
    for (const incident of INCIDENTS) assertSilent(t, s1, incident, 'in a quiet namespace');

    const text = lab.exporter!.get('/doctor');
    t.equal(text.status, 200);
    t.match(text.body, /^sockdiag doctor: no incident detected\n/);
    t.notMatch(text.body, /^\d+\. /m, 'no finding listed');
    t.notMatch(text.body, /remedy:/);
    const json = lab.doctorJson();
    t.equal(json.healthy, true);
    t.same(
      json.findings.filter((f) => f.fired),
      [],
      'no finding fired',
    );
    t.equal(json.findings.length, INCIDENTS.length);

    const doctor = lab.doctor(['--doctor.interval=0.3', ...args]);
    t.equal(doctor.status, 0, 'doctor exits 0');
    t.match(doctor.stdout, /^sockdiag doctor: no incident detected\n/);
    t.match(doctor.stdout, /healthy: accept_queue_overflow, .*resets\n/);
  },
);
