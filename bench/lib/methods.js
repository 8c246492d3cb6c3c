// The timed methods of one size and the interleaved rounds that run them.
// Each method is timed the way its own tool would report it, and reports
// the CPU time (user + system) of the process that did the work beside it:
//
//   c-ext0, c-ext2, c-ext42  bench/bin/nldump -e 0 / 0x02 / 0x42 (socket() to
//                            close(), both families; CPU from its getrusage)
//   addon-ext0, addon-ext42  lib/addon-server.js, one warm process for all
//                            rounds (CPU: process.cpuUsage, worker included)
//   scrape                   GET /metrics from our exporter (request to last
//                            byte; CPU: the exporter's /proc stat, all threads)
//   node-exporter            GET /metrics from node_exporter --collector.tcpstat
//   ss                       sh -c 'ss -tan | wc -l' (spawn to exit; CPU: the
//                            pipeline, reaped by this process)
//   scrape-anon              GET /metrics from a second exporter without owner
//                            attribution (no per-cgroup counts, no listener
//                            process scan): what attribution costs
//   scrape-split             GET /metrics from a third exporter that always
//                            splits the TCP walk in two parts
//                            (--collector.sockets.parallel-dumps=2): what the
//                            split buys in wall time and costs in CPU here
//   scrape-single            GET /metrics from a fourth exporter that always
//                            walks the TCP table once
//                            (--collector.sockets.parallel-dumps=1): the
//                            other way's CPU and wall time, in the same rounds
//   cheap                    GET /metrics?collect[]=listeners&...=sysctl
//
// Scrapes ask for identity encoding: both exporters would gzip otherwise.
'use strict';

const path = require('node:path');
const { cpuSeconds, fields, forkHelper, httpGet, log, run } = require('./processes');

const NLDUMP = path.join(__dirname, '..', 'bin', 'nldump');
const CHEAP_COLLECTORS = ['listeners', 'netstat', 'sockstat', 'sysctl'];
const CHEAP_PATH = `/metrics?${CHEAP_COLLECTORS.map((c) => `collect[]=${c}`).join('&')}`;

/** The methods of each --only group, in the order of the report's table. */
const GROUPS = {
  floor: ['c-ext0', 'c-ext2', 'c-ext42'],
  addon: ['addon-ext0', 'addon-ext42'],
  scrape: ['scrape'],
  attribution: ['scrape-anon'],
  split: ['scrape-split'],
  single: ['scrape-single'],
  'node-exporter': ['node-exporter'],
  ss: ['ss'],
  cheap: ['cheap'],
};
const ADDON_EXT = { 'addon-ext0': [], 'addon-ext42': ['info', 'skmeminfo'] };

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

/** A scrape with the CPU time the serving process spent on it. */
async function timedScrape(server, pathname) {
  const before = cpuSeconds(server.pid);
  const response = await scrape(server.port, pathname);
  return { response, cpuSeconds: cpuSeconds(server.pid) - before };
}

async function nldump(ext) {
  const f = fields((await run(NLDUMP, ['-e', ext, '-r', '1'])).stdout, 'run');
  return {
    seconds: Number(f.time_s),
    cpuSeconds: Number(f.user_s) + Number(f.sys_s),
    rows: Number(f.rows),
    recvmsg: Number(f.recvmsg),
    bytes: Number(f.bytes),
  };
}

/** The methods that `names` asks for; `servers` holds the exporters that are up. */
function methodTable(names, job, servers, state) {
  const all = {
    'c-ext0': () => nldump('0'),
    'c-ext2': () => nldump('0x02'),
    'c-ext42': () => nldump('0x42'),
    scrape: async () => {
      const { response, cpuSeconds } = await timedScrape(servers.ours, '/metrics');
      state.collectorDurations.push(collectorDurations(response.body));
      return { seconds: response.seconds, cpuSeconds, bytes: response.bytes };
    },
    'scrape-anon': async () => {
      const { response, cpuSeconds } = await timedScrape(servers.anon, '/metrics');
      return { seconds: response.seconds, cpuSeconds, bytes: response.bytes };
    },
    'scrape-split': async () => {
      const { response, cpuSeconds } = await timedScrape(servers.split, '/metrics');
      return { seconds: response.seconds, cpuSeconds, bytes: response.bytes };
    },
    'scrape-single': async () => {
      const { response, cpuSeconds } = await timedScrape(servers.single, '/metrics');
      return { seconds: response.seconds, cpuSeconds, bytes: response.bytes };
    },
    'node-exporter': async () => {
      const { response, cpuSeconds } = await timedScrape(servers.nodeExporter, '/metrics');
      return { seconds: response.seconds, cpuSeconds, bytes: response.bytes };
    },
    ss: async () => {
      const before = cpuSeconds(process.pid, { reaped: true });
      const result = await run('sh', ['-c', 'ss -tan | wc -l']);
      return {
        seconds: result.seconds,
        cpuSeconds: cpuSeconds(process.pid, { reaped: true }) - before,
        rows: Number(result.stdout.trim()) - 1,
      };
    },
    cheap: async () => {
      const { response, cpuSeconds } = await timedScrape(servers.ours, CHEAP_PATH);
      return {
        seconds: response.seconds,
        cpuSeconds,
        bytes: response.bytes,
        collectors: collectorDurations(response.body),
      };
    },
  };
  for (const name of Object.keys(ADDON_EXT)) {
    all[name] = async () => {
      const r = await servers.addon.call({ code: job.code, ext: ADDON_EXT[name], ...batch(job) });
      return {
        seconds: r.seconds,
        cpuSeconds: r.userSeconds + r.systemSeconds,
        rows: r.rows,
        batches: r.batches,
      };
    };
  }
  return Object.fromEntries(names.map((name) => [name, all[name]]));
}

const batch = (job) => (job.batchSize ? { batchSize: job.batchSize } : {});

/**
 * `job.rounds` rounds of every selected method, the order rotated each
 * round so that no method always runs right after another, and `settle`
 * (the wait for a quiet machine) before each. The addon process gets two
 * untimed dumps of each extension set first.
 */
async function interleavedRounds(job, servers, settle, state) {
  const names = job.only.flatMap((group) => GROUPS[group] ?? []);
  if (names.some((name) => name in ADDON_EXT)) {
    servers.addon = forkHelper(path.join(__dirname, 'addon-server.js'));
    state.addonWarmup = [];
    for (let i = 0; i < 2; i++)
      for (const ext of Object.values(ADDON_EXT)) {
        const r = await servers.addon.call({ code: job.code, ext, ...batch(job) });
        state.addonWarmup.push({ ext: ext.join(',') || 'none', ...r });
      }
  }
  const table = methodTable(names, job, servers, state);
  const samples = Object.fromEntries(names.map((name) => [name, []]));
  state.roundSettle = [];
  for (let round = 0; round < job.rounds; round++) {
    state.roundSettle.push(await settle(20));
    const order = names.map((_, i) => names[(i + round) % names.length]);
    for (const name of order) samples[name].push(await table[name]());
    log(
      `round ${round + 1}/${job.rounds}: ${names.map((n) => `${n} ${samples[n].at(-1).seconds.toFixed(3)}`).join(', ')}`,
    );
  }
  if (servers.addon) await servers.addon.close();
  return samples;
}

/** The untimed first dump (it assigns socket cookies): rows, and rows per state. */
async function warmUpDump() {
  const { stdout } = await run(NLDUMP, ['-v', '-e', '0x42', '-r', '1']);
  const byState = {};
  for (const match of stdout.matchAll(/^ {2}([A-Z][A-Z0-9-]*) +(\d+)$/gm))
    byState[match[1]] = Number(match[2]);
  return { rows: Number(fields(stdout, 'run').rows), byState };
}

module.exports = { GROUPS, interleavedRounds, scrape, warmUpDump };
