// What a result says about where it was measured: the code (commit, local
// changes, build times, a hash of what ran), the CPUs' business, the TCP
// sockstat and the port range of the namespace.
'use strict';

const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { setTimeout: sleep } = require('node:timers/promises');
const { log, run } = require('./processes');

/** A hash of the JavaScript under dist/src and of the addon that ran. */
function codeHash(code) {
  const hash = crypto.createHash('sha256');
  const dist = path.join(code, 'dist', 'src');
  const files = fs
    .readdirSync(dist, { recursive: true })
    .filter((f) => f.endsWith('.js'))
    .sort();
  for (const file of files) hash.update(file).update(fs.readFileSync(path.join(dist, file)));
  hash.update(fs.readFileSync(path.join(code, 'build', 'Release', 'sockdiag.node')));
  return hash.digest('hex').slice(0, 12);
}

function newestMtime(dir) {
  let latest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile())
      latest = Math.max(
        latest,
        fs.statSync(path.join(entry.parentPath ?? entry.path, entry.name)).mtimeMs,
      );
  }
  return latest ? new Date(latest).toISOString() : null;
}

/** What was measured: the commit, local changes under src/ and native/, build times, code hash. */
async function buildInfo(root, code) {
  const git = async (...args) =>
    (await run('git', ['-C', root, ...args], { allowFailure: true })).stdout.trim();
  return {
    head: await git('rev-parse', '--short', 'HEAD'),
    changedFiles: (await git('status', '--porcelain', '--', 'src', 'native'))
      .split('\n')
      .filter(Boolean).length,
    distBuilt: newestMtime(path.join(code, 'dist', 'src')),
    addonBuilt: new Date(
      fs.statSync(path.join(code, 'build', 'Release', 'sockdiag.node')).mtimeMs,
    ).toISOString(),
    codeHash: codeHash(code),
    snapshot: code !== root,
  };
}

/** Jiffies of all CPUs from /proc/stat: idle (idle + iowait) and total. */
function cpuTimes() {
  const values = fs
    .readFileSync('/proc/stat', 'utf8')
    .split('\n')[0]
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  const idle = values[3] + (values[4] ?? 0);
  return { idle, total: values.reduce((a, b) => a + b, 0) };
}

/**
 * Waits (up to maxSeconds) until the machine is quiet: under 25% of all
 * CPUs busy for one second. Building a big table keeps softirqs busy for a
 * while, and other people's work shares these CPUs. Returns the last busy
 * fraction and how long it waited.
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

/** The TCP line of /proc/net/sockstat; `alloc` counts sockets of every namespace. */
function sockstat() {
  const text = fs.readFileSync('/proc/net/sockstat', 'utf8');
  const tcp = /^TCP: (.*)$/m.exec(text)?.[1] ?? '';
  return Object.fromEntries([...tcp.matchAll(/(\w+) (\d+)/g)].map((m) => [m[1], Number(m[2])]));
}

function portRange() {
  return fs
    .readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
    .trim()
    .split(/\s+/)
    .map(Number);
}

module.exports = { buildInfo, cpuTimes, portRange, settle, sockstat };
