// Child processes and HTTP for bench/measure.js: run a command, start and
// stop a server and wait until it answers, GET with timing, read a
// process's RSS. Every child is killed if the benchmark exits early.
'use strict';

const { spawn } = require('node:child_process');
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
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => process.exit(130));
}

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

/** VmRSS and VmHWM (peak RSS) of a process, MiB. */
function memory(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMiB: kib('VmRSS') / 1024, hwmMiB: kib('VmHWM') / 1024 };
}

module.exports = { children, fields, httpGet, log, memory, run, startServer, stopServer };
