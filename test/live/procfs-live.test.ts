// The procfs collectors against the kernel's own tools, in a namespace this
// test fills with traffic: netstat against `nstat -az`, sockstat's TIME_WAIT
// against `ss`, sysctls set to distinctive values against `sysctl -n`.
import { type ChildProcess, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t, { type Test } from 'tap';
import { unavailable } from '../helpers/requirements';
import type { CollectorDefinition, ScrapeContext } from '../../src/collectors/collector';
import { netstatCollector } from '../../src/collectors/netstat';
import { sockstatCollector } from '../../src/collectors/sockstat';
import { sysctlCollector } from '../../src/collectors/sysctl';
import { createCollector, scrapeContext } from '../helpers/context';
import { type SocketHolder } from '../helpers/holder';
import { type Netns, testNamespace } from '../helpers/namespaces';
import { HELPERS, ROOT } from '../helpers/paths';

// Values no default has, so reading the wrong namespace cannot pass.
const DISTINCTIVE: Record<string, string> = {
  'net.core.somaxconn': '777',
  'net.ipv4.tcp_max_tw_buckets': '12345',
  'net.ipv4.ip_local_port_range': '20000 20999',
  'net.ipv4.tcp_max_syn_backlog': '333',
  'net.ipv4.tcp_syncookies': '2',
  'net.ipv4.tcp_tw_reuse': '0',
  'net.ipv4.tcp_tw_reuse_delay': '2345',
  'net.ipv4.tcp_fin_timeout': '17',
  'net.ipv4.tcp_keepalive_time': '4321',
  'net.ipv4.tcp_keepalive_intvl': '13',
  'net.ipv4.tcp_keepalive_probes': '4',
  'net.ipv4.tcp_syn_retries': '3',
  'net.ipv4.tcp_synack_retries': '2',
  'net.ipv4.tcp_rmem': '4096 87654 6543210',
};

// The oracle's own idea of the series: the collector's list, spelled out again.
const SYSCTL_NAMES = [
  'net.core.somaxconn',
  'net.ipv4.tcp_max_syn_backlog',
  'net.ipv4.tcp_syncookies',
  'net.ipv4.tcp_abort_on_overflow',
  'net.ipv4.tcp_max_tw_buckets',
  'net.ipv4.tcp_tw_reuse',
  'net.ipv4.tcp_tw_reuse_delay',
  'net.ipv4.tcp_tw_recycle',
  'net.ipv4.tcp_timestamps',
  'net.ipv4.tcp_fin_timeout',
  'net.ipv4.tcp_keepalive_time',
  'net.ipv4.tcp_keepalive_intvl',
  'net.ipv4.tcp_keepalive_probes',
  'net.ipv4.ip_local_port_range',
  'net.ipv4.tcp_max_orphans',
  'net.ipv4.tcp_syn_retries',
  'net.ipv4.tcp_synack_retries',
  'net.ipv4.tcp_rmem',
  'net.ipv4.tcp_wmem',
  'net.ipv4.tcp_mem',
  'net.core.rmem_max',
  'net.core.wmem_max',
];

/** nstat hides these as "useless numbers"; we export them as gauges. */
const NSTAT_HIDDEN = [
  'Ip.DefaultTTL',
  'Ip.Forwarding',
  'Tcp.CurrEstab',
  'Tcp.MaxConn',
  'Tcp.RtoAlgorithm',
  'Tcp.RtoMax',
  'Tcp.RtoMin',
];

/** Octets included: a few retransmitted SYNs are a few hundred bytes. */
const MAX_DRIFT = 2000;

function context(procfs: string): ScrapeContext {
  return scrapeContext(procfs);
}

async function sharedValues(definition: CollectorDefinition, procfs: string) {
  const ctx = context(procfs);
  await createCollector(definition).collect(ctx);
  // What the collector read, from the scrape's memoised sources.
  if (definition.name === 'netstat') return (await ctx.sources.netstat).values;
  if (definition.name === 'sysctl') return ctx.sources.sysctls;
  const files = await ctx.sources.sockstat;
  const values = new Map<string, number>();
  for (const entry of [...(files.sockstat ?? []), ...(files.sockstat6 ?? [])]) {
    const key = `${entry.protocol}.${entry.key}`;
    if (!values.has(key)) values.set(key, entry.value);
  }
  return values;
}

/** `sysctl -n` as series named like ours, or [] when the sysctl does not exist. */
function sysctlSeries(name: string, run: (args: string[]) => string): [string, number][] {
  let text: string;
  try {
    text = run(['-n', name]);
  } catch {
    return [];
  }
  const values = text.trim().split(/\s+/).map(Number);
  if (values.length === 1) return [[name, values[0] ?? Number.NaN]];
  const parts =
    values.length === 2
      ? ['min', 'max']
      : name.endsWith('tcp_mem')
        ? ['min', 'pressure', 'max']
        : ['min', 'default', 'max'];
  return parts.map((part, i) => [`${name}.${part}`, values[i] ?? Number.NaN]);
}

/** A process parked in the namespace, so that /proc/<pid>/net is the namespace's. */
async function parkedProcess(ns: Netns): Promise<ChildProcess & { pid: number }> {
  const child = ns.spawn('sleep', ['600']);
  const want = statSync(ns.path).ino;
  for (let tries = 0; tries < 100; tries++) {
    // `ip netns exec` setns()es and then execs: wait for the exec.
    if (child.pid !== undefined && statSync(`/proc/${child.pid}/ns/net`).ino === want) {
      return child as ChildProcess & { pid: number };
    }
    await sleep(20);
  }
  child.kill();
  throw new Error('the parked process never entered the namespace');
}

async function makeTraffic(holder: SocketHolder): Promise<void> {
  const made = await holder.send({ op: 'timewait', count: 50 });
  if (made.made !== 50) throw new Error(`only ${made.made} TIME_WAIT sockets made`);
  // Backlog 1: the third and later connects overflow the accept queue.
  const { port } = await holder.send({ op: 'listen', backlog: 1 });
  await holder.send({ op: 'connect', host: '127.0.0.1', port, count: 6, wait: false });
  const v6 = await holder.send({ op: 'listen', family: 'inet6', host: '::1' });
  await holder.send({ op: 'connect', family: 'inet6', host: '::1', port: v6.port, count: 2 });
  await holder.send({ op: 'accept', id: v6.id, count: 2 });
  await sleep(200);
}

function countSs(ns: Netns, args: string[]): number {
  return ns
    .run('ss', ['-H', ...args])
    .split('\n')
    .filter((line) => line.trim() !== '').length;
}

function nstatAbsolute(ns: Netns, historyDir: string): Record<string, number> {
  // Its own history file, so neither nstat's deltas nor the host's history interfere.
  const history = `NSTAT_HISTORY=${path.join(historyDir, 'nstat.history')}`;
  const output = ns.run('env', [history, 'nstat', '-asz', '--json']);
  return (JSON.parse(output) as { kernel: Record<string, number> }).kernel;
}

function compareNetstat(
  t: Test,
  before: Map<string, number>,
  nstat: Record<string, number>,
  after: Map<string, number>,
): void {
  const ours = new Map([...before].map(([key]) => [key.replace('.', ''), key]));
  const theirs = Object.keys(nstat).filter((name) => !name.startsWith('Sctp'));
  t.same(
    theirs.filter((name) => !ours.has(name)),
    [],
    'every counter nstat prints is exported',
  );
  const hidden = [...before.keys()].filter((key) => !(key.replace('.', '') in nstat)).sort();
  t.same(hidden, NSTAT_HIDDEN, 'and nstat prints all of ours but its "useless numbers"');
  // Counters only grow: nstat's read, taken between our two, must lie between them.
  const outside: string[] = [];
  for (const name of theirs) {
    const key = ours.get(name) ?? name;
    const low = before.get(key) ?? Number.NaN;
    const high = after.get(key) ?? Number.NaN;
    const value = nstat[name] ?? Number.NaN;
    if (!(low <= value && value <= high)) outside.push(`${key}: ${low} <= ${value} <= ${high}`);
    // The namespace is idle by now: only a stray SYN retransmit may move a
    // counter, so a wide bracket would mean the two reads disagree.
    if (high - low > MAX_DRIFT) outside.push(`${key} moved ${high - low} between reads`);
  }
  t.same(outside, [], `${theirs.length} counters between our reads before and after nstat`);
}

const skip = unavailable('namespaces');

t.test('procfs collectors against nstat, ss and sysctl in a namespace', { skip }, async (t) => {
  const { ns, holder } = testNamespace(t, { sysctls: DISTINCTIVE });
  const historyDir = mkdtempSync(path.join(tmpdir(), 'sockdiag-nstat-'));
  let parked: ChildProcess | undefined;
  t.teardown(() => {
    parked?.kill();
    rmSync(historyDir, { recursive: true, force: true });
  });
  await makeTraffic(holder);
  const pinned = await parkedProcess(ns);
  parked = pinned;
  const procfs = `/proc/${pinned.pid}`;

  t.test('netstat equals nstat -az', async (t) => {
    const before = await sharedValues(netstatCollector, procfs);
    const nstat = nstatAbsolute(ns, historyDir);
    const after = await sharedValues(netstatCollector, procfs);
    compareNetstat(t, before, nstat, after);
    t.ok((before.get('TcpExt.TW') ?? 0) >= 50, 'the 50 closes were counted in TW');
    t.ok((before.get('TcpExt.ListenOverflows') ?? 0) > 0, 'the backlog-1 listener overflowed');
    t.ok((before.get('TcpExt.SyncookiesSent') ?? 0) > 0, 'tcp_syncookies=2 sent cookies');
    t.ok((before.get('Ip6.InReceives') ?? 0) > 0, 'IPv6 traffic counted from snmp6');
    const established = countSs(ns, ['-tan', 'state', 'established']);
    const closeWait = countSs(ns, ['-tan', 'state', 'close-wait']);
    t.equal(after.get('Tcp.CurrEstab'), established + closeWait, 'CurrEstab gauge equals ss');
  });

  t.test('sockstat TIME_WAIT and TCP6 equal ss', async (t) => {
    const sockstat = await sharedValues(sockstatCollector, procfs);
    const timeWait = countSs(ns, ['-tan', 'state', 'time-wait']);
    t.equal(timeWait, 50, 'ss sees the 50 TIME_WAIT sockets');
    t.equal(sockstat.get('TCP.tw'), timeWait, 'sockstat TCP tw equals ss');
    // TCP6 inuse counts hashed sockets: not TIME_WAIT, not request minisocks.
    const v6 = countSs(ns, ['-6', '-tan', 'exclude', 'time-wait', 'exclude', 'syn-recv']);
    t.equal(v6, 5, 'one IPv6 listener and two connected pairs');
    t.equal(sockstat.get('TCP6.inuse'), v6, 'sockstat TCP6 inuse equals ss');
  });

  t.test('sysctl in the namespace equals sysctl -n there', async (t) => {
    const ours = sysctlInNamespace(ns);
    const expected = new Map(
      SYSCTL_NAMES.flatMap((name) => sysctlSeries(name, ns.run.bind(ns, 'sysctl'))),
    );
    t.same(ours, expected, 'every series, exactly');
    t.equal(ours.get('net.core.somaxconn'), 777);
    t.equal(ours.get('net.ipv4.tcp_max_tw_buckets'), 12345);
    t.equal(ours.get('net.ipv4.ip_local_port_range.min'), 20000);
    t.equal(ours.get('net.ipv4.ip_local_port_range.max'), 20999);
    t.equal(ours.get('net.ipv4.tcp_rmem.default'), 87654);
    t.equal(ours.get('net.ipv4.tcp_tw_reuse_delay'), 2345);
    t.notOk(ours.has('net.ipv4.tcp_mem.max'), 'tcp_mem only exists in the initial namespace');
    t.notOk(ours.has('net.ipv4.tcp_tw_recycle'), 'tcp_tw_recycle is gone since 4.12');
    const ports = ns
      .run('ss', ['-tanH', 'state', 'time-wait'])
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => Number(line.trim().split(/\s+/)[2]?.split(':').pop()));
    t.ok(
      ports.every((port) => port >= 20000 && port <= 20999),
      'the clients really used the reported port range',
    );
  });
});

t.test('sysctl in the root namespace equals sysctl -n', { skip }, async (t) => {
  const ours = await sharedValues(sysctlCollector, '/proc');
  const run = (args: string[]) =>
    execFileSync('sysctl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const expected = new Map(SYSCTL_NAMES.flatMap((name) => sysctlSeries(name, run)));
  t.same(ours, expected);
  t.not(ours.get('net.core.somaxconn'), 777, 'the namespace test did not read this namespace');
  t.ok(ours.has('net.ipv4.tcp_mem.pressure'), 'tcp_mem is visible here');
});

/**
 * /proc/sys answers for the reader's namespace, not for a /proc/<pid> path,
 * so the collector runs in a Node child inside the namespace, with the same
 * TypeScript loader this test runs under.
 */
function sysctlInNamespace(ns: Netns): Map<string, number> {
  const loader = process.execArgv.filter((arg) => arg.includes('typescript'));
  const source = JSON.stringify(path.join(ROOT, 'src', 'collectors', 'sysctl.ts'));
  const helpers = JSON.stringify(path.join(HELPERS, 'context.ts'));
  const script = `
    const { createCollector, scrapeContext } = require(${helpers});
    const context = scrapeContext('/proc');
    createCollector(require(${source}).sysctlCollector).collect(context)
      .then(() => context.sources.sysctls)
      .then((values) => process.stdout.write(JSON.stringify([...values])));`;
  const env = { ...process.env };
  delete env.NODE_OPTIONS; // tap's coverage hooks have no business in the child
  const output = execFileSync(
    'ip',
    ['netns', 'exec', ns.name, process.execPath, ...loader, '-e', script],
    { encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return new Map(JSON.parse(output) as [string, number][]);
}
