#!/usr/bin/env node
// Liveness under load: sends GET /healthz every INTERVAL ms on a fresh
// connection (as a kubelet probe would) until stdin reaches EOF, then prints
// one JSON object: {samples: [[startEpochMs, latencyMs, status], ...], errors}.
//
//   node bench/healthz-probe.js --port 19599 [--host 127.0.0.1] [--interval 10]
//
// Requests go out on schedule whether or not earlier ones have answered, so
// a blocked event loop in the exporter shows as long latencies instead of
// as missing samples. Prints "ready" on stderr once the first probe answers.
'use strict';

const http = require('node:http');
const { performance } = require('node:perf_hooks');
const { setInterval, clearInterval } = require('node:timers');

function parseArgs(argv) {
  const options = { host: '127.0.0.1', port: 0, interval: 10, path: '/healthz' };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '');
    if (!(key in options) || argv[i + 1] === undefined) {
      process.stderr.write(`healthz-probe: bad argument ${JSON.stringify(argv[i])}\n`);
      process.exit(2);
    }
    options[key] = key === 'host' || key === 'path' ? argv[i + 1] : Number(argv[i + 1]);
  }
  if (!options.port) {
    process.stderr.write('healthz-probe: --port is required\n');
    process.exit(2);
  }
  return options;
}

const options = parseArgs(process.argv.slice(2));
const samples = [];
let errors = 0;
let inFlight = 0;
let stopping = false;
let announced = false;

function probe() {
  const startEpoch = performance.timeOrigin + performance.now();
  const started = performance.now();
  inFlight++;
  const done = (status) => {
    inFlight--;
    if (status === 0) errors++;
    else samples.push([Math.round(startEpoch * 1000) / 1000, performance.now() - started, status]);
    if (!announced && status === 200) {
      announced = true;
      process.stderr.write('ready\n');
    }
    if (stopping && inFlight === 0) finish();
  };
  const request = http.get(
    { host: options.host, port: options.port, path: options.path, agent: false },
    (response) => {
      response.resume();
      response.on('end', () => done(response.statusCode));
      response.on('error', () => done(0));
    },
  );
  request.setTimeout(30000, () => request.destroy(new Error('timeout')));
  request.on('error', () => done(0));
}

function finish() {
  process.stdout.write(`${JSON.stringify({ interval: options.interval, samples, errors })}\n`);
  process.exit(0);
}

const timer = setInterval(probe, options.interval);
process.stdin.resume();
process.stdin.on('end', () => {
  stopping = true;
  clearInterval(timer);
  if (inFlight === 0) finish();
});
