#!/usr/bin/env node
// One size of bench/run.sh, run inside the table's namespace: every method
// side by side, interleaved round by round so that drift hits all alike,
// then memory, /healthz under load and (optionally) a CPU profile. Writes
// one JSON document to --out; progress goes to stderr.
//
//   ip netns exec NAME node bench/measure.js --out FILE --logs DIR
//       [--rounds 5] [--profile DIR]
//
// Methods, each timed the way its own tool would report it:
//   c-ext0, c-ext42     bench/bin/nldump -e 0 / -e 0x42 (socket() to close())
//   addon-ext0, -ext42  bench/addon-dump.js --serve, one warm process for all rounds
//   scrape              GET /metrics from our exporter (request to last byte)
//   node-exporter       GET /metrics from node_exporter --collector.tcpstat only
//   ss                  sh -c 'ss -tan | wc -l' (spawn to exit)
//   cheap               GET /metrics?collect[]=listeners&...=sysctl
// Scrapes ask for identity encoding: both exporters would gzip otherwise.
'use strict';

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const { setTimeout: sleep } = require('node:timers/promises');

const BENCH_DIR = __dirname;
const ROOT = path.dirname(BENCH_DIR);
const NLDUMP = path.join(BENCH_DIR, 'bin', 'nldump');
// run.sh points this at a snapshot of dist/ and the addon; default: the repo.
const CODE = process.env.SOCKDIAG_BENCH_CODE || ROOT;
const CLI = path.join(CODE, 'dist', 'src', 'cli', 'main.js');
const NODE_EXPORTER = process.env.NODE_EXPORTER || '/usr/bin/prometheus-node-exporter';
const CHEAP_COLLECTORS = ['listeners', 'netstat', 'sockstat', 'sysctl'];
const CHEAP_PATH = `/metrics?${CHEAP_COLLECTORS.map((c) => `collect[]=${c}`).join('&')}`;
const PORTS = { ours: 19599, nodeExporter: 19600, profiled: 19598 };
// Back-to-back scrapes while /healthz is probed: at least 5, and for at
// least 5 s, so that p99 is taken over about 500 probes, not the max of 50.
const HEALTHZ_SCRAPES = 5;
const HEALTHZ_SECONDS = 5;

function parseArgs(argv) {
  const options = { rounds: 5, out: '', logs: '', profile: '' };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '');
    if (!(key in options) || argv[i + 1] === undefined) throw new Error(`bad argument ${argv[i]}`);
    options[key] = key === 'rounds' ? Number(argv[i + 1]) : argv[i + 1];
  }
  if (!options.out || !options.logs) throw new Error('--out and --logs are required');
  if (!Number.isInteger(options.rounds) || options.rounds < 1)
    throw new Error('--rounds must be >= 1');
  return options;
}

const {
  children,
  fields,
  httpGet,
  log,
  memory,
  run,
  startServer,
  stopServer,
} = require('./processes');

/** sockdiag_scrape_collector_duration_seconds{collector="X"} samples of one scrape. */
function collectorDurations(body) {
  const durations = {};
  const pattern = /^sockdiag_scrape_collector_duration_seconds\{collector="([^"]+)"\} (\S+)$/gm;
  for (const match of body.matchAll(pattern)) durations[match[1]] = Number(match[2]);
  return durations;
}

async function scrape(port, pathname) {
  const response = await httpGet(port, pathname);
  if (response.status !== 200)
    throw new Error(
      `GET :${port}${pathname} -> ${response.status}: ${response.body.slice(0, 300)}`,
    );
  return response;
}

/**
 * One long-lived `addon-dump.js --serve`: warm like the exporter, so a round
 * measures the steady state and not the first dumps of a fresh process
 * (JIT, first-touch page faults of new batch buffers).
 */
function startAddonServer() {
  const child = spawn(process.execPath, [path.join(BENCH_DIR, 'addon-dump.js'), '--serve'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  children.add(child);
  let buffered = '';
  const waiting = [];
  child.stdout.on('data', (chunk) => {
    buffered += chunk;
    let newline;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const text = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      waiting.shift()?.resolve(text);
    }
  });
  child.on('exit', (code) => {
    children.delete(child);
    for (const w of waiting.splice(0)) w.reject(new Error(`addon-dump --serve exited ${code}`));
  });
  return {
    async dump(ext) {
      const text = await new Promise((resolve, reject) => {
        waiting.push({ resolve, reject });
        child.stdin.write(`${ext}\n`);
      });
      const f = fields(text, 'run');
      return { seconds: Number(f.time_s), rows: Number(f.rows), batches: Number(f.batches) };
    },
    stop() {
      child.stdin.end();
    },
  };
}

function methods(state, addonServer) {
  const nldump = async (ext) => {
    const f = fields((await run(NLDUMP, ['-e', ext, '-r', '1'])).stdout, 'run');
    return {
      seconds: Number(f.time_s),
      rows: Number(f.rows),
      recvmsg: Number(f.recvmsg),
      bytes: Number(f.bytes),
    };
  };
  const addon = (ext) => addonServer.dump(ext);
  return {
    'c-ext0': () => nldump('0'),
    'c-ext42': () => nldump('0x42'),
    'addon-ext0': () => addon('none'),
    'addon-ext42': () => addon('info,skmeminfo'),
    scrape: async () => {
      const response = await scrape(PORTS.ours, '/metrics');
      state.collectorDurations.push(collectorDurations(response.body));
      return { seconds: response.seconds, bytes: response.bytes };
    },
    'node-exporter': async () => {
      const response = await scrape(PORTS.nodeExporter, '/metrics');
      return { seconds: response.seconds, bytes: response.bytes };
    },
    ss: async () => {
      const result = await run('sh', ['-c', 'ss -tan | wc -l']);
      return { seconds: result.seconds, rows: Number(result.stdout.trim()) - 1 };
    },
    cheap: async () => {
      const response = await scrape(PORTS.ours, CHEAP_PATH);
      return {
        seconds: response.seconds,
        bytes: response.bytes,
        collectors: collectorDurations(response.body),
      };
    },
  };
}

async function interleavedRounds(rounds, state) {
  const addonServer = startAddonServer();
  state.addonWarmup = [];
  for (let i = 0; i < 2; i++) {
    for (const ext of ['none', 'info,skmeminfo'])
      state.addonWarmup.push({ ext, ...(await addonServer.dump(ext)) });
  }
  const table = methods(state, addonServer);
  const names = Object.keys(table);
  const samples = Object.fromEntries(names.map((name) => [name, []]));
  state.roundSettle = [];
  for (let round = 0; round < rounds; round++) {
    state.roundSettle.push(await settle(20));
    // Rotate the order so that no method always runs right after another.
    const order = names.map((_, i) => names[(i + round) % names.length]);
    for (const name of order) samples[name].push(await table[name]());
    log(
      `round ${round + 1}/${rounds}: ${names.map((n) => `${n} ${samples[n].at(-1).seconds.toFixed(3)}`).join(', ')}`,
    );
  }
  addonServer.stop();
  return samples;
}

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

function latencySummary(latencies) {
  const sorted = [...latencies].sort((a, b) => a - b);
  return {
    count: sorted.length,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    maxMs: sorted.at(-1) ?? null,
  };
}

/** /healthz every 10 ms: 1 s idle, then full scrapes back to back (HEALTHZ_SCRAPES and HEALTHZ_SECONDS at least). */
async function healthzUnderLoad() {
  const probe = spawn(
    process.execPath,
    [path.join(BENCH_DIR, 'healthz-probe.js'), '--port', String(PORTS.ours), '--interval', '10'],
    {
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  children.add(probe);
  const out = [];
  probe.stdout.on('data', (chunk) => out.push(chunk));
  const closed = new Promise((resolve) => probe.on('close', resolve));
  await new Promise((resolve, reject) => {
    probe.stderr.on('data', (chunk) => {
      if (String(chunk).includes('ready')) resolve();
    });
    probe.on('exit', () => reject(new Error('healthz probe exited early')));
  });
  const now = () => performance.timeOrigin + performance.now();
  const idleFrom = now();
  await sleep(1000);
  const scrapesFrom = now();
  const scrapeSeconds = [];
  while (scrapeSeconds.length < HEALTHZ_SCRAPES || now() - scrapesFrom < HEALTHZ_SECONDS * 1000) {
    scrapeSeconds.push((await scrape(PORTS.ours, '/metrics')).seconds);
  }
  const scrapesTo = now();
  probe.stdin.end();
  await closed;
  children.delete(probe);
  const { samples, errors } = JSON.parse(Buffer.concat(out).toString());
  const within = (from, to) =>
    samples.filter(([start]) => start >= from && start < to).map(([, ms]) => ms);
  return {
    idle: latencySummary(within(idleFrom, scrapesFrom)),
    duringScrapes: latencySummary(within(scrapesFrom, scrapesTo)),
    errors,
    scrapeSeconds,
  };
}

/**
 * A separate exporter with bench/prof-hook.js preloaded: one warm-up scrape,
 * then the V8 profiler runs (SIGUSR2 on, SIGUSR2 off) over `scrapes` scrapes.
 */
async function profileScrapes(dir, logs, scrapes = 5) {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `exporter-${process.pid}.cpuprofile`);
  for (const f of [file, `${file}.started`]) fs.rmSync(f, { force: true });
  process.env.SOCKDIAG_BENCH_PROFILE = file;
  const child = await startServer(
    'exporter-profiled',
    process.execPath,
    [
      '--require',
      path.join(BENCH_DIR, 'prof-hook.js'),
      CLI,
      `--web.listen-address=127.0.0.1:${PORTS.profiled}`,
      '--log.level=warn',
    ],
    PORTS.profiled,
    '/healthz',
    logs,
  );
  delete process.env.SOCKDIAG_BENCH_PROFILE;
  const waitFor = async (target) => {
    for (let i = 0; i < 300 && !fs.existsSync(target); i++) await sleep(100);
    if (!fs.existsSync(target)) throw new Error(`profiler hook did not write ${target}`);
  };
  await scrape(PORTS.profiled, '/metrics');
  child.kill('SIGUSR2');
  await waitFor(`${file}.started`);
  const seconds = [];
  for (let i = 0; i < scrapes; i++)
    seconds.push((await scrape(PORTS.profiled, '/metrics')).seconds);
  child.kill('SIGUSR2');
  await waitFor(file);
  await stopServer(child);
  fs.rmSync(`${file}.started`, { force: true });
  const { summarise, format } = require('./prof-summary');
  const summary = summarise(JSON.parse(fs.readFileSync(file, 'utf8')));
  return { file, scrapeSeconds: seconds, text: format(summary), ...summary };
}

/** What was measured: the commit, local changes under src/ and native/, build times, a hash of the JS. */
function codeHash() {
  const hash = require('node:crypto').createHash('sha256');
  const files = fs
    .readdirSync(path.join(CODE, 'dist', 'src'), { recursive: true })
    .filter((f) => f.endsWith('.js'))
    .sort();
  for (const file of files)
    hash.update(file).update(fs.readFileSync(path.join(CODE, 'dist', 'src', file)));
  hash.update(fs.readFileSync(path.join(CODE, 'build', 'Release', 'sockdiag.node')));
  return hash.digest('hex').slice(0, 12);
}

async function buildInfo() {
  const newest = (dir) => {
    let latest = 0;
    for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
      if (entry.isFile())
        latest = Math.max(
          latest,
          fs.statSync(path.join(entry.parentPath ?? entry.path, entry.name)).mtimeMs,
        );
    }
    return latest ? new Date(latest).toISOString() : null;
  };
  const git = async (...args) =>
    (await run('git', ['-C', ROOT, ...args], { allowFailure: true })).stdout.trim();
  return {
    head: await git('rev-parse', '--short', 'HEAD'),
    changedFiles: (await git('status', '--porcelain', '--', 'src', 'native'))
      .split('\n')
      .filter(Boolean).length,
    distBuilt: newest(path.join(CODE, 'dist', 'src')),
    addonBuilt: new Date(
      fs.statSync(path.join(CODE, 'build', 'Release', 'sockdiag.node')).mtimeMs,
    ).toISOString(),
    codeHash: codeHash(),
    snapshot: CODE !== ROOT,
  };
}

function cpuTimes() {
  const fieldsOfCpu = fs
    .readFileSync('/proc/stat', 'utf8')
    .split('\n')[0]
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  const idle = fieldsOfCpu[3] + (fieldsOfCpu[4] ?? 0);
  return { idle, total: fieldsOfCpu.reduce((a, b) => a + b, 0) };
}

/**
 * Waits (up to maxSeconds) until the machine is quiet: under 25% of all CPUs busy
 * for one second. Building a big table keeps softirqs busy for a while, and
 * other people's work shares these CPUs. Returns the last busy fraction.
 */
async function settle(maxSeconds = 60) {
  let busy = 1;
  for (let i = 0; i < maxSeconds; i++) {
    const before = cpuTimes();
    await sleep(1000);
    const after = cpuTimes();
    busy = 1 - (after.idle - before.idle) / Math.max(1, after.total - before.total);
    if (busy < 0.25) return { busy, waitedSeconds: i + 1 };
  }
  log(`machine still ${(busy * 100).toFixed(0)}% busy after ${maxSeconds} s; measuring anyway`);
  return { busy, waitedSeconds: maxSeconds };
}

function sockstat() {
  const text = fs.readFileSync('/proc/net/sockstat', 'utf8');
  const tcp = /^TCP: (.*)$/m.exec(text)?.[1] ?? '';
  return Object.fromEntries([...tcp.matchAll(/(\w+) (\d+)/g)].map((m) => [m[1], Number(m[2])]));
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  fs.mkdirSync(options.logs, { recursive: true });
  const result = {
    startedAt: new Date().toISOString(),
    machine: { nproc: os.availableParallelism(), kernel: os.release(), node: process.version },
    loadavgBefore: os.loadavg(),
    sockstat: sockstat(),
    rounds: options.rounds,
    portRange: fs
      .readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
      .trim()
      .split(/\s+/)
      .map(Number),
    build: await buildInfo(),
  };

  // Untimed: the first dump of a table assigns socket cookies.
  const warm = fields((await run(NLDUMP, ['-e', '0x42', '-r', '1'])).stdout, 'run');
  result.tableRows = Number(warm.rows);
  log(
    `table: ${result.tableRows} TCP sockets in this namespace; TCP sockstat ${JSON.stringify(result.sockstat)}`,
  );

  result.settle = await settle();
  log(
    `CPU ${(result.settle.busy * 100).toFixed(0)}% busy after ${result.settle.waitedSeconds} s of settling`,
  );
  result.loadavgBefore = os.loadavg();

  const ours = await startServer(
    'exporter',
    process.execPath,
    [CLI, `--web.listen-address=127.0.0.1:${PORTS.ours}`, '--log.level=warn'],
    PORTS.ours,
    '/healthz',
    options.logs,
  );
  const nodeExporter = await startServer(
    'node-exporter',
    NODE_EXPORTER,
    [
      '--collector.disable-defaults',
      '--collector.tcpstat',
      `--web.listen-address=127.0.0.1:${PORTS.nodeExporter}`,
    ],
    PORTS.nodeExporter,
    '/',
    options.logs,
  );
  await sleep(500);
  result.memory = {
    ours: { idle: memory(ours.pid) },
    nodeExporter: { idle: memory(nodeExporter.pid) },
  };

  const state = { collectorDurations: [] };
  result.samples = await interleavedRounds(options.rounds, state);
  result.collectorDurations = state.collectorDurations;
  result.addonWarmup = state.addonWarmup;
  result.roundSettle = state.roundSettle;
  result.memory.ours.afterRounds = memory(ours.pid);
  result.memory.nodeExporter.afterRounds = memory(nodeExporter.pid);

  log('healthz probe during back-to-back scrapes');
  result.healthz = await healthzUnderLoad();
  result.memory.ours.end = memory(ours.pid);
  result.memory.nodeExporter.end = memory(nodeExporter.pid);
  log(
    `healthz p50 ${result.healthz.duringScrapes.p50Ms?.toFixed(2)} ms, p99 ${result.healthz.duringScrapes.p99Ms?.toFixed(2)} ms`,
  );

  await stopServer(ours);
  await stopServer(nodeExporter);

  if (options.profile) {
    log('CPU profile of the exporter over 5 scrapes');
    result.profile = await profileScrapes(options.profile, options.logs);
  }
  result.loadavgAfter = os.loadavg();
  result.finishedAt = new Date().toISOString();
  fs.writeFileSync(options.out, `${JSON.stringify(result, null, 1)}\n`);
}

main().catch((error) => {
  process.stderr.write(`measure: ${error && error.stack ? error.stack : error}\n`);
  process.exit(1);
});
