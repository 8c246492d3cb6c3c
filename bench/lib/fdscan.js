// The listener-owner scan on a host with many open descriptors
// (node bench/main.js --fd-scan FDS): how the /proc/PID/fd scan that finds
// a listener's process behaves when the host holds FDS descriptors, against
// the budget it is given (--collector.listeners.process-scan-budget, 50 ms
// per second shared by every caller).
//
// Holders (python3) each keep up to 9,000 socketpair descriptors open (one
// process may hold 20,000 here). The listener is started before them, so
// that it has the lowest pid of the set and a pass that reads the newest
// processes first finds it last: the worst case. Three cases:
//
//   cold       no hint: scrapes a second apart (the budget's window), each
//              calling the scan, until the listener's owner is found
//   hinted     the listener's cgroup's processes (cgroup.procs) passed as
//              the likely owners, as the exporter does: found in one call
//   cached     the owner known: what every later scrape pays
//
// Measured per call: wall time, and the event loop's longest stall during
// it (perf_hooks.monitorEventLoopDelay at 1 ms resolution).
'use strict';

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { monitorEventLoopDelay, performance } = require('node:perf_hooks');
const { setTimeout: sleep } = require('node:timers/promises');

const PER_HOLDER = 9000;
const BUDGET_MS = 50;
const MAX_CALLS = 120;

const HOLDER = `
import os, socket, sys, time
n = int(sys.argv[1])
keep = [socket.socketpair() for _ in range(n // 2)]
print("ready", flush=True)
sys.stdin.read()
`;

const LISTENER = `
import os, socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(8)
print(os.fstat(s.fileno()).st_ino, flush=True)
sys.stdin.read()
`;

/** Starts python3 with `source`; resolves with the child and its first line. */
function python(source, args, children) {
  return new Promise((resolve, reject) => {
    const child = spawn('python3', ['-c', source, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
    children.push(child);
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const line = out.indexOf('\n');
      if (line >= 0) resolve({ child, line: out.slice(0, line) });
    });
    child.once('exit', (code) =>
      reject(new Error(`python3 exited with ${code} before it was ready`)),
    );
  });
}

/** Open descriptors of every process on the host (what a pass may read). */
function hostDescriptors() {
  let total = 0;
  for (const pid of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      total += fs.readdirSync(`/proc/${pid}/fd`).length;
    } catch {
      // gone, or a kernel thread
    }
  }
  return total;
}

/** One call of the scan, timed, with the event loop's longest stall during it. */
async function timedFind(index, inode, likely) {
  const lag = monitorEventLoopDelay({ resolution: 1 });
  lag.enable();
  const started = performance.now();
  const found = await index.find([inode], BUDGET_MS, likely);
  const ms = performance.now() - started;
  lag.disable();
  return { ms, stallMs: lag.max / 1e6, found: found.has(inode) };
}

async function fdScanBenchmark({ root, fds }) {
  const { ProcessIndex } = require(path.join(root, 'dist', 'src', 'owners', 'processes.js'));
  const children = [];
  try {
    const listener = await python(LISTENER, [], children);
    const inode = Number(listener.line);
    const holders = Math.ceil(fds / PER_HOLDER);
    for (let i = 0; i < holders; i++) {
      await python(HOLDER, [String(Math.min(PER_HOLDER, fds - i * PER_HOLDER))], children);
    }
    const descriptors = hostDescriptors();
    const processes = fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p)).length;

    const cold = new ProcessIndex('/proc');
    const calls = [];
    while (calls.length < MAX_CALLS) {
      calls.push(await timedFind(cold, inode, []));
      if (calls.at(-1).found) break;
      await sleep(1000); // the next scrape, once the budget's window has passed
    }
    const hinted = await timedFind(new ProcessIndex('/proc'), inode, [listener.child.pid]);
    const cached = [];
    for (let i = 0; i < 20; i++) cached.push(await timedFind(cold, inode, []));
    return {
      case: 'fd-scan',
      fds,
      holders,
      descriptors,
      processes,
      budgetMs: BUDGET_MS,
      cold: calls,
      hinted,
      cached,
    };
  } finally {
    for (const child of children) child.kill('SIGKILL');
  }
}

module.exports = { BUDGET_MS, fdScanBenchmark };
