// Child processes and HTTP for the harness: run a command, start and stop a
// server and wait until it answers, fork one of bench/lib's helper processes
// and talk to it, GET with timing, read a process's RSS and CPU time. Every
// child is killed if the benchmark exits early.
'use strict';

const { fork, spawn } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const { setTimeout: sleep } = require('node:timers/promises');

const log = (message) => process.stderr.write(`  [measure] ${message}\n`);

// Children we started; killed on any way out so nothing outlives a failed run.
const children = new Set();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

// On a signal the children get SIGTERM and up to 5 s to go, so that the
// measuring process can stop its exporters, and the driver can then remove
// its table, before this process exits.
let stopping = false;
async function shutdown() {
  if (stopping) return;
  stopping = true;
  for (const child of children) child.kill('SIGTERM');
  const deadline = performance.now() + 5000;
  while (children.size > 0 && performance.now() < deadline) await sleep(50);
  process.exit(130);
}
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => void shutdown());

/** Runs a command to completion: {code, stdout, stderr, seconds}; rejects on failure. */
function run(command, args, { allowFailure = false } = {}) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    const out = [];
    const err = [];
    child.stdout.on('data', (chunk) => out.push(chunk));
    child.stderr.on('data', (chunk) => err.push(chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      children.delete(child);
      const result = {
        code,
        stdout: Buffer.concat(out).toString(),
        stderr: Buffer.concat(err).toString(),
        seconds: (performance.now() - started) / 1000,
      };
      if (code !== 0 && !allowFailure) {
        reject(new Error(`${command} ${args.join(' ')} exited ${code}: ${result.stderr.trim()}`));
      } else {
        resolve(result);
      }
    });
  });
}

/** key=value fields of the first line starting with `tag `. */
function fields(text, tag) {
  const line = text.split('\n').find((l) => l.startsWith(`${tag} `));
  if (!line) throw new Error(`no '${tag}' line in:\n${text}`);
  const result = {};
  for (const match of line.matchAll(/(\w+)=(\S+)/g)) result[match[1]] = match[2];
  return result;
}

function httpGet(port, pathname, timeoutMs = 600000) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const request = http.get(
      {
        host: '127.0.0.1',
        port,
        path: pathname,
        agent: false,
        headers: { 'accept-encoding': 'identity' },
      },
      (response) => {
        const chunks = [];
        response.on('data', (chunk) => chunks.push(chunk));
        response.on('end', () => {
          const body = Buffer.concat(chunks);
          resolve({
            status: response.statusCode,
            seconds: (performance.now() - started) / 1000,
            bytes: body.length,
            body: body.toString(),
          });
        });
        response.on('error', reject);
      },
    );
    request.setTimeout(timeoutMs, () => request.destroy(new Error(`GET ${pathname} timed out`)));
    request.on('error', reject);
  });
}

async function startServer(name, command, args, port, readyPath, logs) {
  const stdout = fs.openSync(path.join(logs, `${name}.out`), 'a');
  const stderr = fs.openSync(path.join(logs, `${name}.err`), 'a');
  const child = spawn(command, args, { stdio: ['ignore', stdout, stderr] });
  fs.closeSync(stdout);
  fs.closeSync(stderr);
  children.add(child);
  let exited = null;
  child.on('exit', (code, signal) => {
    exited = { code, signal };
    children.delete(child);
  });
  const deadline = performance.now() + 30000;
  for (;;) {
    if (exited)
      throw new Error(`${name} exited (${JSON.stringify(exited)}); see ${logs}/${name}.err`);
    try {
      const response = await httpGet(port, readyPath, 1000);
      if (response.status === 200) break;
    } catch {
      // not listening yet
    }
    if (performance.now() > deadline)
      throw new Error(`${name} not ready on port ${port} after 30 s`);
    await sleep(100);
  }
  log(`${name} up (pid ${child.pid})`);
  return child;
}

async function stopServer(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = sleep(15000).then(() => 'timeout');
  if ((await Promise.race([exited, timer])) === 'timeout') {
    log(`pid ${child.pid} ignored SIGTERM for 15 s, killing`);
    child.kill('SIGKILL');
    await exited;
  }
}

/**
 * Forks a module of bench/lib that answers messages one at a time (see
 * serveMessages), optionally through a wrapper command such as `ip netns
 * exec NAME`: the wrapper runs `node FILE` with the IPC channel inherited.
 * The helper gets its settings in messages, not on a command line, so
 * bench/lib/options.js stays the only argument parser.
 */
function forkHelper(file, { wrapper = [] } = {}) {
  // The helper's stdout goes to our stderr: the driver's stdout carries only the report.
  const options = { stdio: ['ignore', 2, 2, 'ipc'] };
  if (wrapper.length > 0) {
    options.execPath = wrapper[0];
    options.execArgv = [...wrapper.slice(1), process.execPath];
  }
  const child = fork(file, [], options);
  children.add(child);
  const name = path.basename(file, '.js');
  const waiting = [];
  const exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      children.delete(child);
      for (const w of waiting.splice(0)) {
        const error = new Error(`${name} exited (${signal ?? code}) before it answered`);
        error.code = 'ERR_BENCH_CHILD';
        w.reject(error);
      }
      resolve({ code, signal });
    });
  });
  child.on('error', (error) => {
    for (const w of waiting.splice(0)) w.reject(error);
  });
  child.on('message', (message) => {
    const w = waiting.shift();
    if (!w) return;
    if (message.error) w.reject(new Error(`${name}: ${message.error}`));
    else w.resolve(message.reply);
  });
  return {
    child,
    /** Sends one request; resolves with the helper's reply. */
    call(request) {
      return new Promise((resolve, reject) => {
        waiting.push({ resolve, reject });
        child.send(request);
      });
    },
    /** Closes the channel (the helper exits when it has nothing left to do) and waits. */
    async close() {
      if (child.connected) child.disconnect();
      return exited;
    },
  };
}

/**
 * The helper's side of forkHelper: answers each message with
 * `await handler(message)`, in order, and exits once the parent is gone.
 */
function serveMessages(handler) {
  let queue = Promise.resolve();
  process.on('message', (message) => {
    queue = queue.then(async () => {
      try {
        process.send({ reply: await handler(message) });
      } catch (error) {
        process.send({ error: error && error.stack ? error.stack : String(error) });
      }
    });
  });
  process.on('disconnect', () => {
    void queue.then(() => process.exit(0));
  });
}

// /proc/PID/stat counts CPU time in USER_HZ ticks, 100 per second on Linux.
const USER_HZ = 100;

/**
 * CPU seconds (user + system, all threads) of a process from /proc, or with
 * `reaped` those of its children that it has waited for. 10 ms resolution.
 */
function cpuSeconds(pid, { reaped = false } = {}) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after "(comm)": state is field 3, utime 14, stime 15, cutime 16, cstime 17.
  const after = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const at = reaped ? 13 : 11;
  return (Number(after[at]) + Number(after[at + 1])) / USER_HZ;
}

/** VmRSS and VmHWM (peak RSS) of a process, MiB. */
function memory(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMiB: kib('VmRSS') / 1024, hwmMiB: kib('VmHWM') / 1024 };
}

/**
 * GETs `body()` (a /metrics text) once a second until every listener's
 * process is known or `limitS` passed: {scrapes, seconds, listeners, unknown}.
 * The rounds measure what every later scrape costs, not the budgeted owner
 * scan of a new host (bench --fd-scan measures that).
 */
async function waitForOwners(body, limitS) {
  const started = Date.now();
  for (let scrapes = 1; ; scrapes++) {
    const text = await body();
    const owners = text.split('\n').filter((l) => l.startsWith('sockdiag_listener_owner_info{'));
    const unknown = owners.filter((l) => l.includes('process=""')).length;
    const seconds = (Date.now() - started) / 1000;
    if (unknown === 0 || seconds >= limitS) {
      return { scrapes, seconds, listeners: owners.length, unknown };
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

module.exports = {
  children,
  cpuSeconds,
  fields,
  forkHelper,
  httpGet,
  log,
  memory,
  run,
  serveMessages,
  startServer,
  stopServer,
  waitForOwners,
};
