// One size of the benchmark, run inside the table's namespace: forked by
// bench/main.js through `ip netns exec NAME`, it gets the job in a message
// and answers with one result object. In order: the untimed first dump,
// a wait for quiet CPUs, both exporters started and their idle memory, the
// interleaved rounds of every selected method, memory again, /healthz
// under back-to-back scrapes, the loop-lag scans and (optionally) a CPU
// profile. Progress goes to stderr.
//
// The job: {root, code, rounds, only, batchSize?, nodeExporter, logs, profileDir?}.
'use strict';

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const { setTimeout: sleep } = require('node:timers/promises');
const machine = require('./machine');
const { interleavedRounds, scrape, warmUpDump } = require('./methods');
const {
  forkHelper,
  log,
  memory,
  serveMessages,
  startServer,
  stopServer,
  waitForOwners,
} = require('./processes');

const PORTS = {
  ours: 19599,
  nodeExporter: 19600,
  profiled: 19598,
  anon: 19595,
  split: 19594,
  single: 19593,
};
/** The exporter without owner attribution (the attribution group). */
const WITHOUT_ATTRIBUTION = [
  '--collector.sockets.cgroups-limit=0',
  '--collector.listeners.processes=false',
];
// Back-to-back scrapes while /healthz is probed: at least 5, and for at
// least 5 s, so that p99 is taken over about 500 probes, not the max of 50.
const HEALTHZ_SCRAPES = 5;
const HEALTHZ_SECONDS = 5;
const PROFILED_SCRAPES = 5;

const cliOf = (job) => path.join(job.code, 'dist', 'src', 'cli', 'main.js');

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

/** /healthz every 10 ms: 1 s idle, then full scrapes back to back. */
async function healthzUnderLoad(port) {
  const probe = forkHelper(path.join(__dirname, 'healthz-probe.js'));
  await probe.call({ start: { port, interval: 10 } });
  const now = () => performance.timeOrigin + performance.now();
  const idleFrom = now();
  await sleep(1000);
  const scrapesFrom = now();
  const scrapeSeconds = [];
  while (scrapeSeconds.length < HEALTHZ_SCRAPES || now() - scrapesFrom < HEALTHZ_SECONDS * 1000)
    scrapeSeconds.push((await scrape(port, '/metrics')).seconds);
  const scrapesTo = now();
  const { samples, errors } = await probe.call({ stop: true });
  await probe.close();
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
 * A separate exporter with lib/prof-hook.js preloaded: one warm-up scrape,
 * then the V8 profiler runs (SIGUSR2 on, SIGUSR2 off) over a few scrapes.
 */
async function profileScrapes(job) {
  const dir = job.profileDir;
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `exporter-${process.pid}.cpuprofile`);
  for (const f of [file, `${file}.started`]) fs.rmSync(f, { force: true });
  process.env.SOCKDIAG_BENCH_PROFILE = file;
  const child = await startServer(
    'exporter-profiled',
    process.execPath,
    [
      '--require',
      path.join(__dirname, 'prof-hook.js'),
      cliOf(job),
      `--web.listen-address=127.0.0.1:${PORTS.profiled}`,
      '--log.level=warn',
    ],
    PORTS.profiled,
    '/healthz',
    job.logs,
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
  for (let i = 0; i < PROFILED_SCRAPES; i++)
    seconds.push((await scrape(PORTS.profiled, '/metrics')).seconds);
  child.kill('SIGUSR2');
  await waitFor(file);
  await stopServer(child);
  fs.rmSync(`${file}.started`, { force: true });
  const { summarise, format } = require('../prof-summary');
  const summary = summarise(JSON.parse(fs.readFileSync(file, 'utf8')));
  return { file, scrapeSeconds: seconds, text: format(summary), ...summary };
}

/** One of our exporters on `port` with `flags`, up once /healthz answers. */
async function startOurs(job, name, port, flags = []) {
  const child = await startServer(
    name,
    process.execPath,
    [cliOf(job), `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn', ...flags],
    port,
    '/healthz',
    job.logs,
  );
  return { child, pid: child.pid, port };
}

/** Our exporters (for scrape, cheap, healthz, attribution, split, single) and node_exporter, as the job asks. */
async function startExporters(job) {
  const servers = {};
  const wants = (...groups) => groups.some((group) => job.only.includes(group));
  if (wants('scrape', 'cheap', 'healthz'))
    servers.ours = await startOurs(job, 'exporter', PORTS.ours);
  if (wants('attribution'))
    servers.anon = await startOurs(job, 'exporter-anon', PORTS.anon, WITHOUT_ATTRIBUTION);
  if (wants('split'))
    servers.split = await startOurs(job, 'exporter-split', PORTS.split, [
      '--collector.sockets.parallel-dumps=2',
    ]);
  if (wants('single'))
    servers.single = await startOurs(job, 'exporter-single', PORTS.single, [
      '--collector.sockets.parallel-dumps=1',
    ]);
  if (wants('node-exporter')) {
    const child = await startServer(
      'node-exporter',
      job.nodeExporter,
      [
        '--collector.disable-defaults',
        '--collector.tcpstat',
        `--web.listen-address=127.0.0.1:${PORTS.nodeExporter}`,
      ],
      PORTS.nodeExporter,
      '/',
      job.logs,
    );
    servers.nodeExporter = { child, pid: child.pid, port: PORTS.nodeExporter };
  }
  return servers;
}

const OWNERS_WARM_UP_S = 300;
/**
 * Rows every timed exporter scans in untimed full scrapes before the
 * rounds: a long-running exporter's per-row loops are optimised code, and
 * V8 needs some millions of rows to get there (TurboFan added up to ~20 ms
 * per 200k scrape over the first 40 scrapes). At least WARM_SCRAPES_MIN.
 */
const WARM_ROWS = 5_000_000;
const WARM_SCRAPES_MIN = 3;

/** Untimed full scrapes of each exporter in `servers` that the rounds time. */
async function warmScrapes(servers, tableRows) {
  const scrapes = Math.max(WARM_SCRAPES_MIN, Math.ceil(WARM_ROWS / Math.max(tableRows, 1)));
  for (const key of ['ours', 'anon', 'split', 'single']) {
    if (!servers[key]) continue;
    for (let i = 0; i < scrapes; i++) await scrape(servers[key].port, '/metrics');
  }
  log(`warm-up: ${scrapes} untimed full scrapes of each exporter`);
  return scrapes;
}

/**
 * Scrapes the listeners once a second until every listener's process is
 * known: on a host with millions of descriptors the /proc/PID/fd scan that
 * finds them takes many scrapes within its budget (50 ms a second).
 */
async function warmOwners(port) {
  const warm = await waitForOwners(
    async () => (await scrape(port, '/metrics?collect[]=listeners')).body,
    OWNERS_WARM_UP_S,
  );
  log(
    `listener owners: ${warm.listeners - warm.unknown} of ${warm.listeners} known after ${warm.scrapes} scrapes, ${warm.seconds.toFixed(0)} s`,
  );
  return warm;
}

/** Memory of each exporter that runs, under `phase` (idle, afterRounds, end). */
function recordMemory(result, servers, phase) {
  for (const key of ['ours', 'nodeExporter']) {
    if (!servers[key]) continue;
    result.memory[key] ??= {};
    result.memory[key][phase] = memory(servers[key].pid);
  }
}

async function loopLag(job) {
  const helper = forkHelper(path.join(__dirname, 'loop-lag.js'));
  const request = { code: job.code, repeat: job.rounds };
  if (job.batchSize) request.batchSize = job.batchSize;
  const scans = await helper.call(request);
  await helper.close();
  return scans;
}

async function measure(job) {
  fs.mkdirSync(job.logs, { recursive: true });
  const result = {
    startedAt: new Date().toISOString(),
    machine: { nproc: os.availableParallelism(), kernel: os.release(), node: process.version },
    loadavgBefore: os.loadavg(),
    sockstat: machine.sockstat(),
    rounds: job.rounds,
    only: job.only,
    portRange: machine.portRange(),
    build: await machine.buildInfo(job.root, job.code),
  };
  const warm = await warmUpDump();
  result.tableRows = warm.rows;
  result.tableByState = warm.byState;
  log(`table: ${warm.rows} TCP sockets here; TCP sockstat ${JSON.stringify(result.sockstat)}`);
  result.settle = await machine.settle();
  log(`CPU ${(result.settle.busy * 100).toFixed(0)}% busy after ${result.settle.waitedSeconds} s`);
  result.loadavgBefore = os.loadavg();

  const servers = await startExporters(job);
  await sleep(500);
  result.memory = {};
  recordMemory(result, servers, 'idle');
  if (servers.ours) result.ownersWarmUp = await warmOwners(servers.ours.port);
  // Its fd scan would otherwise run in its timed scrapes.
  if (servers.split) result.splitOwnersWarmUp = await warmOwners(servers.split.port);
  if (servers.single) result.singleOwnersWarmUp = await warmOwners(servers.single.port);
  result.warmScrapes = await warmScrapes(servers, result.tableRows);
  const state = { collectorDurations: [] };
  result.samples = await interleavedRounds(job, servers, machine.settle, state);
  Object.assign(result, state);
  recordMemory(result, servers, 'afterRounds');
  if (job.only.includes('healthz')) {
    log('healthz probe during back-to-back scrapes');
    result.healthz = await healthzUnderLoad(PORTS.ours);
    const h = result.healthz.duringScrapes;
    log(`healthz p50 ${h.p50Ms?.toFixed(2)} ms, p99 ${h.p99Ms?.toFixed(2)} ms`);
  }
  recordMemory(result, servers, 'end');
  for (const server of Object.values(servers)) await stopServer(server.child);

  if (job.only.includes('loop-lag')) {
    log(`loop lag: ${job.rounds} table scans with a 1 ms timer`);
    result.loopLag = await loopLag(job);
  }
  if (job.profileDir) {
    log(`CPU profile of the exporter over ${PROFILED_SCRAPES} scrapes`);
    result.profile = await profileScrapes(job);
  }
  result.loadavgAfter = os.loadavg();
  result.finishedAt = new Date().toISOString();
  return result;
}

serveMessages(measure);
