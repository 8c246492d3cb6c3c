// The namespaces benchmark (node bench/main.js --namespaces N --sizes TOTAL):
// what the netns collector costs on a node whose N pods hold TOTAL sockets
// in all, against a host-only scrape of the same TOTAL, with namespaces
// that share the host's established hash and with private ones
// (net.ipv4.tcp_child_ehash_entries). In interleaved rounds:
//
//   host-only  all TOTAL sockets in one namespace, the exporter in it: a full scrape
//   own        the exporter in an empty namespace of its own, netns left out (collect[])
//   cheap      the same exporter, whole scrape: N namespaces on the cheap tier
//   full       private hashes, whole scrape: every namespace on the full tier
//   floor      bench/bin/nldump -e 0x42 entering each namespace (-N), summed over N
//   forced     shared hashes, every namespace forced to the full tier
//              (--collector.netns.full=.): the cost the tiers avoid (2 rounds)
//
// Wall time is the HTTP request's, from a client inside the exporter's
// namespace; CPU is the exporter's (all threads), or nldump's own.
'use strict';

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { settle } = require('./machine');
const { fields, forkHelper, log, run } = require('./processes');

const GEN = path.join(__dirname, '..', 'bin', 'gen');
const NLDUMP = path.join(__dirname, '..', 'bin', 'nldump');
const EHASH = '/proc/sys/net/ipv4/tcp_child_ehash_entries';
const PRIVATE_BUCKETS = 4096;
const PORT = 19597;
const PREFIX = 'sdbns';
const OWN = `${PREFIX}-own`;
const HOST = `${PREFIX}-host`;
const WITHOUT_NETNS = ['sockets', 'listeners', 'netstat', 'sockstat', 'sysctl', 'incidents'];
const OWN_PATH = `/metrics?${WITHOUT_NETNS.map((c) => `collect[]=${c}`).join('&')}`;
const FORCED_ROUNDS = 2;
/** At most this long for the listener owners before the rounds (1 scrape a second). */
const OWNERS_WARM_UP_S = 240;

const median = (values) => {
  const sorted = values.filter((v) => typeof v === 'number').sort((a, b) => a - b);
  return sorted.length === 0 ? null : sorted[Math.floor((sorted.length - 1) / 2)];
};

/** gen processes in `netns` holding `pairs` ESTABLISHED pairs (at most 9 900 each). */
async function generate(netns, pairs, gens) {
  for (let left = pairs, i = 0; left > 0; i++) {
    const n = Math.min(left, 9900);
    left -= n;
    const args = ['netns', 'exec', netns, GEN, '-n', String(n), '-p', String(20000 + i)];
    const child = spawn('ip', [...args, '-b', String(i), '-l', '1', '-x', String(21000 + i)], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    gens.push(child);
    await new Promise((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (chunk) => {
        out += chunk;
        if (/^ready /m.test(out)) resolve();
      });
      child.once('exit', (code) => reject(new Error(`gen in ${netns} exited ${code}`)));
    });
  }
}

/** The benchmark's namespaces and generators; down() removes them all. */
class Node {
  constructor() {
    this.names = [];
    this.gens = [];
  }

  async add(name, pairs, privateHash = false) {
    const before = fs.readFileSync(EHASH, 'utf8').trim();
    fs.writeFileSync(EHASH, privateHash ? String(PRIVATE_BUCKETS) : '0');
    try {
      await run('ip', ['netns', 'add', name]);
    } finally {
      fs.writeFileSync(EHASH, before);
    }
    this.names.push(name);
    await run('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
    if (pairs > 0) await generate(name, pairs, this.gens);
  }

  async down() {
    const exits = this.gens.splice(0).map((gen) => {
      if (gen.exitCode !== null) return Promise.resolve();
      const exited = new Promise((resolve) => gen.once('exit', resolve));
      gen.stdin.end();
      return exited;
    });
    await Promise.all(exits);
    for (const name of this.names.splice(0)) {
      await run('ip', ['netns', 'del', name], { allowFailure: true });
    }
  }
}

/** An exporter in `netns` with `args`, and a client beside it (lib/netns-scraper.js). */
async function exporterIn(netns, job, name, args) {
  job.ownersWarmUp ??= {};
  const scraper = forkHelper(path.join(__dirname, 'netns-scraper.js'), {
    wrapper: ['nsenter', `--net=/run/netns/${netns}`],
  });
  const cli = path.join(job.code, 'dist', 'src', 'cli', 'main.js');
  await scraper.call({ start: { cli, args, port: PORT, logs: job.logs, name } });
  // The first scrapes open the namespaces and warm the code: untimed.
  for (let i = 0; i < 2; i++) await scraper.call({ scrape: { path: '/metrics' } });
  const owners = await scraper.call({ warmOwners: { limitS: OWNERS_WARM_UP_S } });
  log(
    `${name}: listener owners ${owners.listeners - owners.unknown} of ${owners.listeners} known after ${owners.scrapes} scrapes, ${owners.seconds.toFixed(0)} s`,
  );
  job.ownersWarmUp[name] = owners;
  return {
    scrape: (pathname) => scraper.call({ scrape: { path: pathname } }),
    async stop() {
      await scraper.call({ stop: true });
      await scraper.close();
    },
  };
}

/** nldump with tcp_info and skmeminfo in each namespace, one after another: the sums. */
async function floor(names) {
  let seconds = 0;
  let cpu = 0;
  let rows = 0;
  for (const name of names) {
    const f = fields(
      (await run(NLDUMP, ['-N', `/run/netns/${name}`, '-e', '0x42', '-r', '1'])).stdout,
      'run',
    );
    seconds += Number(f.time_s);
    cpu += Number(f.user_s) + Number(f.sys_s);
    rows += Number(f.rows);
  }
  return { seconds, cpuSeconds: cpu, rows };
}

/** `rounds` rounds of `methods`, the order rotated each round, a quiet machine before each. */
async function rounds(count, methods) {
  const names = Object.keys(methods);
  const samples = Object.fromEntries(names.map((name) => [name, []]));
  for (let round = 0; round < count; round++) {
    await settle(20);
    for (let i = 0; i < names.length; i++) {
      const name = names[(i + round) % names.length];
      samples[name].push(await methods[name]());
    }
    log(
      `round ${round + 1}/${count}: ${names.map((n) => `${n} ${samples[n].at(-1).seconds.toFixed(3)}`).join(', ')}`,
    );
  }
  return samples;
}

/** count namespaces with pairs each, besides the exporter's own empty one. */
async function pods(node, count, pairs, privateHash) {
  await node.add(OWN, 0);
  const names = Array.from({ length: count }, (_, i) => `${PREFIX}-${i}`);
  for (const name of names) await node.add(name, pairs, privateHash);
  return names;
}

async function sharedPhase(job, node, pairs) {
  const names = await pods(node, job.namespaces, pairs, false);
  const include = `--collector.netns.include=^${PREFIX}-\\d+$`;
  let exporter = await exporterIn(OWN, job, 'exporter-shared', ['--collector.netns', include]);
  const samples = await rounds(job.rounds, {
    own: () => exporter.scrape(OWN_PATH),
    cheap: () => exporter.scrape('/metrics'),
  });
  await exporter.stop();
  exporter = await exporterIn(OWN, job, 'exporter-forced', [
    '--collector.netns',
    include,
    '--collector.netns.full=.',
  ]);
  Object.assign(
    samples,
    await rounds(FORCED_ROUNDS, {
      forced: () => exporter.scrape('/metrics'),
      'floor-shared': () => floor(names),
    }),
  );
  await exporter.stop();
  await node.down();
  return samples;
}

async function privatePhase(job, node, pairs) {
  const names = await pods(node, job.namespaces, pairs, true);
  const include = `--collector.netns.include=^${PREFIX}-\\d+$`;
  const exporter = await exporterIn(OWN, job, 'exporter-private', ['--collector.netns', include]);
  const samples = await rounds(job.rounds, {
    own: () => exporter.scrape(OWN_PATH),
    full: () => exporter.scrape('/metrics'),
    floor: () => floor(names),
  });
  await exporter.stop();
  await node.down();
  return samples;
}

async function hostPhase(job, node) {
  await node.add(HOST, job.total / 2);
  const exporter = await exporterIn(HOST, job, 'exporter-host', []);
  const samples = await rounds(job.rounds, { 'host-only': () => exporter.scrape('/metrics') });
  await exporter.stop();
  await node.down();
  return samples;
}

/**
 * The whole benchmark for one TOTAL: {namespaces, total, pairsPerNamespace,
 * shared, private, host}, each a map of method -> samples.
 */
async function namespacesBenchmark(job) {
  if (!fs.existsSync(EHASH)) throw new Error(`${EHASH} is missing: Linux 6.1 or later needed`);
  const pairs = Math.round(job.total / 2 / job.namespaces);
  const node = new Node();
  const cleanup = () => {
    for (const gen of node.gens) gen.kill('SIGKILL');
    for (const name of node.names) run('ip', ['netns', 'del', name], { allowFailure: true });
  };
  process.once('exit', cleanup);
  try {
    log(`${job.namespaces} namespaces x ${2 * pairs} sockets, shared hash`);
    const shared = await sharedPhase(job, node, pairs);
    log(
      `${job.namespaces} namespaces x ${2 * pairs} sockets, private hashes (${PRIVATE_BUCKETS} buckets)`,
    );
    const priv = await privatePhase(job, node, pairs);
    log(`host-only: ${job.total} sockets in one namespace`);
    const host = await hostPhase(job, node);
    return {
      namespaces: job.namespaces,
      total: job.total,
      pairsPerNamespace: pairs,
      shared,
      private: priv,
      host,
      ownersWarmUp: job.ownersWarmUp,
    };
  } finally {
    await node.down();
    process.removeListener('exit', cleanup);
  }
}

module.exports = { median, namespacesBenchmark, OWN_PATH, PRIVATE_BUCKETS };
