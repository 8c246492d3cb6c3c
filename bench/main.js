#!/usr/bin/env node
// The benchmark harness, and the only entry point of bench/: for each size,
// a namespace full of TCP sockets (bench/table.sh), and in it, side by side
// in interleaved rounds, the C floor (bench/bin/nldump), the addon's dump
// into columns, a full exporter scrape, node_exporter's tcpstat, `ss -tan`
// and the cheap collectors; then memory, /healthz latency under scrapes,
// the event-loop gaps of the table scan and, with --profile, a CPU profile.
// With --closed it measures the closed collector under connection churn
// instead (bench/lib/churn.js), with --namespaces the netns collector
// (bench/lib/netns.js), with --fd-scan the listener-owner scan on a host
// with many descriptors open (bench/lib/fdscan.js). The report goes to stdout and, unless
// --no-record, into bench/RESULTS.md in place of the same case's latest
// run (which moves to RESULTS-history.md); raw JSON, logs and profiles
// stay in bench/out/STAMP/. Run `--help` for the options; everything needs
// root except --report.
'use strict';

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { parseOrExit, UsageError } = require('./lib/options');
const { GROUPS } = require('./lib/methods');
const { buildInfo } = require('./lib/machine');
const { namespacesBenchmark } = require('./lib/netns');
const { netnsReport } = require('./lib/netns-report');
const { fdScanBenchmark } = require('./lib/fdscan');
const { fdScanReport } = require('./lib/fdscan-report');
const { forkHelper } = require('./lib/processes');
const { report } = require('./lib/report');
const churnReport = require('./lib/churn-report');
const { record } = require('./lib/results');
const { BENCH_DIR, BenchError, ROOT, prerequisites, snapshotCode } = require('./lib/setup');

const MEASUREMENTS = [...Object.keys(GROUPS), 'healthz', 'loop-lag'];
const DEFAULT_NODE_EXPORTER = '/usr/bin/prometheus-node-exporter';

const COMMAND = {
  name: 'bench',
  usage: 'node bench/main.js [options]      (npm run bench -- [options]; as root)',
  description: [
    'Builds a namespace of SIZE loopback TCP sockets per size and measures, in interleaved',
    'rounds: the C floor, the addon, a full scrape, node_exporter, ss and the cheap',
    "collectors; then memory, /healthz under scrapes and the scan's event-loop gaps.",
    'Measurements for --only: floor (nldump -e 0, 0x02, 0x42), addon, scrape, attribution,',
    'split (the same scrape always split in two parts), single (always one walk),',
    'node-exporter, ss, cheap, healthz,',
    'loop-lag.',
    'With --closed: the closed collector under churn instead (CHURN-RATE loopback connections',
    'per second for CHURN-SECONDS, with and without a subscriber, --rounds times, default 2).',
  ],
  options: {
    sizes: {
      kind: 'integers',
      min: 2,
      value: 'LIST',
      default: '100000,200000',
      help: 'ESTABLISHED sockets per table, even numbers, e.g. 100000,200000,1000000',
    },
    rounds: {
      kind: 'integer',
      min: 1,
      value: 'N',
      default: '5',
      help: 'interleaved rounds per size (with --closed: rounds of churn, default 2)',
    },
    closed: {
      kind: 'boolean',
      help: 'measure the closed collector under connection churn instead of the socket tables',
    },
    'churn-rate': {
      kind: 'integer',
      min: 1,
      value: 'N',
      default: '10000',
      help: 'with --closed: loopback connections opened and closed per second',
    },
    'churn-seconds': {
      kind: 'integer',
      min: 1,
      value: 'S',
      default: '30',
      help: 'with --closed: seconds of churn per run',
    },
    only: {
      kind: 'choices',
      choices: MEASUREMENTS,
      value: 'LIST',
      default: MEASUREMENTS.join(','),
      help: 'measure only these',
    },
    profile: {
      kind: 'boolean',
      help: "also a V8 CPU profile of the exporter's main thread over 5 scrapes",
    },
    'no-record': {
      kind: 'boolean',
      help: 'print the report only, leave RESULTS.md alone (smoke and noisy runs)',
    },
    table: {
      kind: 'string',
      value: 'NAME',
      help: 'measure the namespace NAME (bench/table.sh up NAME ...) instead of building tables',
    },
    timewait: {
      kind: 'integer',
      min: 0,
      value: 'N',
      default: '0',
      help: 'TIME_WAIT sockets per table; they expire 60 s later, so the table drifts',
    },
    'port-range': {
      kind: 'range',
      value: 'LOW-HIGH',
      help: "the namespace's ip_local_port_range once the table is up (table.sh sets 1024-65535)",
    },
    'batch-size': {
      kind: 'integer',
      min: 1,
      value: 'N',
      help: "rows per batch of the addon dumps and the loop-lag scans (default: the library's)",
    },
    'node-exporter': {
      kind: 'string',
      value: 'PATH',
      default: DEFAULT_NODE_EXPORTER,
      help: "node_exporter to compare with (Debian's package is installed if the default is missing)",
    },
    namespaces: {
      kind: 'integer',
      min: 0,
      value: 'N',
      default: '0',
      help: 'instead: the netns collector with N namespaces holding SIZE sockets in all, shared and private hashes (bench/lib/netns.js)',
    },
    'fd-scan': {
      kind: 'integer',
      min: 0,
      value: 'FDS',
      default: '0',
      help: 'instead: the listener-owner /proc/PID/fd scan with FDS more descriptors open on the host, against its budget (bench/lib/fdscan.js)',
    },
    report: {
      kind: 'string',
      value: 'DIR',
      help: 'measure nothing: print the report of the raw results in DIR (bench/out/STAMP)',
    },
    help: { kind: 'boolean', short: 'h', help: 'show this help' },
  },
};

const log = (message) => process.stderr.write(`# ${message}\n`);

function checkCombinations(values, given) {
  const clash = (a, others) => {
    const other = others.find((name) => given.has(name));
    if (given.has(a) && other) throw new UsageError(`--${a} and --${other} do not go together`);
  };
  clash(
    'report',
    Object.keys(COMMAND.options).filter((n) => !['report', 'help'].includes(n)),
  );
  clash('table', ['sizes', 'timewait']);
  const tablesOnly = ['sizes', 'only', 'profile', 'table', 'timewait', 'port-range', 'batch-size'];
  clash('closed', [...tablesOnly, 'node-exporter']);
  clash('fd-scan', [...tablesOnly, 'node-exporter', 'closed', 'namespaces']);
  for (const name of ['churn-rate', 'churn-seconds']) {
    if (given.has(name) && !given.has('closed')) throw new UsageError(`--${name} needs --closed`);
  }
  if (!values.table && values.sizes.some((size) => size % 2 !== 0))
    throw new UsageError('--sizes must be even numbers of sockets (table.sh makes SIZE/2 pairs)');
}

// What the exit handler must undo: the table being measured, the snapshot,
// the churn namespace.
const teardown = { namespace: null, code: null, churnNamespace: null };
process.on('exit', () => {
  if (teardown.churnNamespace) {
    log(`removing namespace ${teardown.churnNamespace}`);
    spawnSync('ip', ['netns', 'del', teardown.churnNamespace], { stdio: 'ignore' });
  }
  if (teardown.namespace) {
    log(`cleaning up namespace ${teardown.namespace}`);
    spawnSync('bash', [path.join(BENCH_DIR, 'table.sh'), 'down', teardown.namespace], {
      stdio: ['ignore', 2, 2],
    });
  }
  if (teardown.code) fs.rmSync(teardown.code, { recursive: true, force: true });
});

function table(...args) {
  const result = spawnSync('bash', [path.join(BENCH_DIR, 'table.sh'), ...args], {
    stdio: ['ignore', 2, 2],
  });
  if (result.status !== 0) throw new BenchError(`table.sh ${args.join(' ')} failed`);
}

/** One size: forks bench/lib/measure.js inside the namespace and waits for its result. */
async function measureIn(namespace, job) {
  const measurer = forkHelper(path.join(BENCH_DIR, 'lib', 'measure.js'), {
    wrapper: ['ip', 'netns', 'exec', namespace],
  });
  try {
    return await measurer.call(job);
  } finally {
    await measurer.close();
  }
}

async function run(values) {
  if (process.getuid() !== 0) throw new BenchError('needs root (network namespaces)');
  if (values.table && !fs.existsSync(`/run/netns/${values.table}`))
    throw new BenchError(`no namespace ${values.table} (bench/table.sh up ${values.table} PAIRS)`);
  prerequisites({
    nodeExporter: values['node-exporter'],
    defaultNodeExporter: DEFAULT_NODE_EXPORTER,
    needsNodeExporter: values.only.includes('node-exporter'),
  });
  teardown.code = await snapshotCode();
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '');
  const out = path.join(BENCH_DIR, 'out', stamp);
  fs.mkdirSync(out, { recursive: true });
  const targets = values.table
    ? [{ namespace: values.table, label: values.table }]
    : values.sizes.map((size) => ({ namespace: `sdbench-${size}`, label: String(size), size }));
  const results = [];
  for (const { namespace, label, size } of targets) {
    if (size) {
      log(`${size} sockets: table ${namespace} (${size / 2} pairs, ${values.timewait} TIME_WAIT)`);
      teardown.namespace = namespace;
      table('up', namespace, String(size / 2), String(values.timewait));
    }
    if (values['port-range']) {
      const range = values['port-range'].join(' ');
      const args = ['netns', 'exec', namespace, 'sysctl', '-q', '-w'];
      const set = spawnSync('ip', [...args, `net.ipv4.ip_local_port_range=${range}`], {
        stdio: ['ignore', 2, 2],
      });
      if (set.status !== 0) throw new Error(`could not set ip_local_port_range in ${namespace}`);
    }
    const job = {
      root: ROOT,
      code: teardown.code,
      rounds: values.rounds,
      only: values.only,
      nodeExporter: values['node-exporter'],
      logs: path.join(out, `logs-${label}`),
    };
    if (values['batch-size']) job.batchSize = values['batch-size'];
    if (values.profile) job.profileDir = path.join(out, `prof-${label}`);
    const result = await measureIn(namespace, job);
    fs.writeFileSync(path.join(out, `size-${label}.json`), `${JSON.stringify(result, null, 1)}\n`);
    results.push(result);
    if (size) {
      table('down', namespace);
      teardown.namespace = null;
    }
  }
  return { results, out };
}

/** The header every case's report starts with: when, where, which code. */
async function runHeader(values) {
  const build = await buildInfo(ROOT, teardown.code);
  return {
    date: new Date().toUTCString(),
    rounds: values.rounds,
    machine: `${os.cpus().length} CPUs, kernel ${os.release()}, node ${process.version}`,
    code: `commit ${build.head} with ${build.changedFiles} changed files under src/ and native/, code hash ${build.codeHash}`,
  };
}

function recordText(values, text) {
  process.stdout.write(`\n${text}\n`);
  if (values['no-record']) return;
  record(path.join(BENCH_DIR, 'RESULTS.md'), path.join(BENCH_DIR, 'RESULTS-history.md'), text);
  log(
    'recorded in bench/RESULTS.md in place of the same case (the previous run moved to RESULTS-history.md)',
  );
}

/** --fd-scan: lib/fdscan.js once, its report recorded like the others. */
async function runFdScan(values) {
  if (process.getuid() !== 0) throw new BenchError("needs root (every process's /proc/PID/fd)");
  table('build');
  teardown.code = await snapshotCode();
  const header = await runHeader(values);
  const result = await fdScanBenchmark({ root: teardown.code, fds: values['fd-scan'] });
  recordText(values, fdScanReport(result, header));
}

/** --namespaces: lib/netns.js for each size, its report recorded like the others. */
async function runNamespaces(values) {
  if (process.getuid() !== 0) throw new BenchError('needs root (network namespaces)');
  table('build');
  teardown.code = await snapshotCode();
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '');
  const out = path.join(BENCH_DIR, 'out', stamp);
  const logs = path.join(out, 'logs-netns');
  fs.mkdirSync(logs, { recursive: true });
  const header = await runHeader(values);
  const sections = [];
  for (const total of values.sizes) {
    const job = {
      code: teardown.code,
      logs,
      rounds: values.rounds,
      namespaces: values.namespaces,
      total,
    };
    const result = await namespacesBenchmark(job);
    fs.writeFileSync(path.join(out, `netns-${total}.json`), `${JSON.stringify(result, null, 1)}\n`);
    sections.push(netnsReport(result, header));
  }
  recordText(values, sections.join('\n'));
  log(`raw results in ${path.relative(ROOT, out)}`);
}

/** In a namespace of its own: net.ipv4.tcp_max_tw_buckets 0, so no TIME_WAIT piles up. */
function churnNamespace(name) {
  const ip = (...args) => {
    const result = spawnSync('ip', args, { stdio: ['ignore', 2, 2] });
    if (result.status !== 0) throw new BenchError(`ip ${args.join(' ')} failed`);
  };
  spawnSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
  teardown.churnNamespace = name;
  ip('netns', 'add', name);
  ip('-n', name, 'link', 'set', 'lo', 'up');
  for (const setting of [
    'net.ipv4.tcp_max_tw_buckets=0',
    'net.ipv4.ip_local_port_range=1024 65535',
  ])
    ip('netns', 'exec', name, 'sysctl', '-q', '-w', setting);
}

async function runClosed(values, given) {
  if (process.getuid() !== 0) throw new BenchError('needs root (network namespaces)');
  prerequisites({ needsNodeExporter: false });
  teardown.code = await snapshotCode();
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '');
  const out = path.join(BENCH_DIR, 'out', stamp);
  fs.mkdirSync(out, { recursive: true });
  const namespace = 'sdbench-closed';
  churnNamespace(namespace);
  const measurer = forkHelper(path.join(BENCH_DIR, 'lib', 'churn.js'), {
    wrapper: ['ip', 'netns', 'exec', namespace],
  });
  let result;
  try {
    result = await measurer.call({
      root: ROOT,
      code: teardown.code,
      rate: values['churn-rate'],
      seconds: values['churn-seconds'],
      rounds: given.has('rounds') ? values.rounds : 2,
      logs: path.join(out, 'logs-closed'),
    });
  } finally {
    await measurer.close();
  }
  fs.writeFileSync(path.join(out, 'closed.json'), `${JSON.stringify(result, null, 1)}\n`);
  spawnSync('ip', ['netns', 'del', namespace], { stdio: 'ignore' });
  teardown.churnNamespace = null;
  return { results: [result], out };
}

/** The report of either case. */
const reportOf = (results) =>
  results[0]?.case === 'closed' ? churnReport.report(results[0]) : report(results);

function rawResults(dir) {
  const files = fs.readdirSync(dir).filter((f) => /^(size-.*|closed)\.json$/.test(f));
  if (files.length === 0) throw new BenchError(`no size-*.json in ${dir}`);
  return files.map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')));
}

async function main() {
  const { values, given } = parseOrExit(COMMAND);
  try {
    checkCombinations(values, given);
  } catch (error) {
    process.stderr.write(`bench: ${error.message}\nRun with --help for the options.\n`);
    process.exit(2);
  }
  if (values.report) {
    process.stdout.write(reportOf(rawResults(values.report)));
    return;
  }
  if (values.namespaces > 0) {
    await runNamespaces(values);
    return;
  }
  if (values['fd-scan'] > 0) {
    await runFdScan(values);
    return;
  }
  const { results, out } = values.closed ? await runClosed(values, given) : await run(values);
  const text = reportOf(results);
  process.stdout.write(`\n${text}\n`);
  const where = path.relative(ROOT, out);
  if (values['no-record']) {
    log(`not recorded (--no-record); raw results in ${where}`);
  } else {
    record(path.join(BENCH_DIR, 'RESULTS.md'), path.join(BENCH_DIR, 'RESULTS-history.md'), text);
    log(`recorded in bench/RESULTS.md (the previous run of this case moved to RESULTS-history.md)`);
    log(`raw results in ${where}`);
  }
}

main().catch((error) => {
  // Errors of the harness's own (ERR_BENCH*) say all in their message.
  const own = String(error?.code ?? '').startsWith('ERR_BENCH') || !error?.stack;
  const text = own ? String(error?.message ?? error) : error.stack;
  process.stderr.write(`bench: ${text}\n`);
  process.exitCode = 1;
});
