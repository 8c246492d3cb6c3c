// The closed collector under churn, run inside the benchmark's namespace
// (forked by bench/main.js --closed through `ip netns exec NAME`): in each
// round, bench/bin/churn opens and closes RATE connections per second for
// SECONDS, once with no subscriber and once with an exporter running only
// the closed collector. Measured: the connections made, the events the
// exporter counted and lost, the exporter's CPU (all threads: the
// receiver and the event loop), the generator's CPU (both ends' kernel
// work on loopback) and the whole machine's, which also holds the kernel's
// broadcast of the events (a workqueue, charged to no process of ours).
//
// The job: {root, code, rate, seconds, rounds, logs}.
'use strict';

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { setTimeout: sleep } = require('node:timers/promises');
const machine = require('./machine');
const {
  cpuSeconds,
  fields,
  httpGet,
  log,
  run,
  serveMessages,
  startServer,
  stopServer,
} = require('./processes');

const PORT = 19597;
const CHURN_PORT = 8080;
const IDLE_SECONDS = 5;

/** Busy CPU seconds of the whole machine (all CPUs) from /proc/stat. */
function machineBusySeconds() {
  const { idle, total } = machine.cpuTimes();
  return (total - idle) / 100;
}

async function churn(job) {
  const binary = path.join(job.root, 'bench', 'bin', 'churn');
  const busyBefore = machineBusySeconds();
  const result = await run(binary, [
    String(job.rate),
    String(job.seconds),
    '2',
    String(CHURN_PORT),
    '100',
    '200',
  ]);
  const busy = machineBusySeconds() - busyBefore;
  const f = fields(result.stdout, 'churn');
  return {
    made: Number(f.made),
    failed: Number(f.failed),
    seconds: Number(f.seconds),
    rate: Number(f.rate),
    cpuSeconds: Number(f.utime) + Number(f.stime),
    machineBusySeconds: busy,
  };
}

/** The closed collector's counts: connections counted (the scrapes' own left out), events lost. */
async function closedCounts() {
  const { body } = await httpGet(PORT, '/metrics');
  let counted = 0;
  let lost = null;
  for (const line of body.split('\n')) {
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    const own = line.includes(`port="${PORT}"`);
    if (line.startsWith('sockdiag_closed_connections_total{') && !own) counted += value;
    if (line.startsWith('sockdiag_closed_events_lost_total ')) lost = value;
  }
  return { counted, lost };
}

async function withSubscriber(job) {
  const child = await startServer(
    'exporter',
    process.execPath,
    [
      path.join(job.code, 'dist', 'src', 'cli', 'main.js'),
      `--web.listen-address=127.0.0.1:${PORT}`,
      '--log.level=warn',
      '--collector.disable-defaults',
      '--collector.closed',
    ],
    PORT,
    '/healthz',
    job.logs,
  );
  try {
    await sleep(6000); // the listener refresh, and a settled process
    const idleFrom = cpuSeconds(child.pid);
    await sleep(IDLE_SECONDS * 1000);
    const idlePerSecond = (cpuSeconds(child.pid) - idleFrom) / IDLE_SECONDS;
    const before = await closedCounts();
    const cpuBefore = cpuSeconds(child.pid);
    const generated = await churn(job);
    const cpu = cpuSeconds(child.pid) - cpuBefore;
    await sleep(1000); // the last batches flush within 100 ms
    const after = await closedCounts();
    return {
      ...generated,
      exporter: {
        cpuSeconds: cpu,
        idleCpuPerSecond: idlePerSecond,
        counted: after.counted - before.counted,
        lost: after.lost - before.lost,
      },
    };
  } finally {
    await stopServer(child);
  }
}

async function measure(job) {
  fs.mkdirSync(job.logs, { recursive: true });
  const result = {
    case: 'closed',
    startedAt: new Date().toISOString(),
    machine: { nproc: os.availableParallelism(), kernel: os.release(), node: process.version },
    loadavgBefore: os.loadavg(),
    rate: job.rate,
    seconds: job.seconds,
    build: await machine.buildInfo(job.root, job.code),
    rounds: [],
  };
  for (let round = 1; round <= job.rounds; round++) {
    const quietBefore = await machine.settle();
    log(`round ${round}: ${job.rate}/s for ${job.seconds} s without a subscriber`);
    const without = await churn(job);
    log(`  made ${without.made} (${without.rate.toFixed(0)}/s)`);
    const quietBetween = await machine.settle();
    log(`round ${round}: the same with the closed collector`);
    const withIt = await withSubscriber(job);
    const e = withIt.exporter;
    log(`  made ${withIt.made}, counted ${e.counted}, lost ${e.lost}, CPU ${e.cpuSeconds} s`);
    result.rounds.push({ quietBefore, quietBetween, without, with: withIt });
  }
  result.loadavgAfter = os.loadavg();
  result.finishedAt = new Date().toISOString();
  return result;
}

serveMessages(measure);
