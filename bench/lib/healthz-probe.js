// Liveness under load: GET /healthz every `interval` ms on a fresh
// connection each time, as a kubelet probe would. Forked by
// bench/lib/measure.js; requests are {start: {port, interval, path?}},
// answered once the first probe got a 200, then {stop: true}, answered
// with {interval, samples: [[startEpochMs, latencyMs, status], ...], errors}
// once every probe in flight has finished.
//
// Requests go out on schedule whether or not earlier ones have answered, so
// a blocked event loop in the exporter shows as long latencies instead of
// as missing samples. A process of its own, so that the driver's scrapes
// (40 MB bodies at 1M sockets) do not delay the probes.
'use strict';

const http = require('node:http');
const { performance } = require('node:perf_hooks');
const { clearInterval, clearTimeout, setInterval, setTimeout } = require('node:timers');
const { serveMessages } = require('./processes');

function startProbing({ port, interval, path = '/healthz' }) {
  const samples = [];
  let errors = 0;
  let inFlight = 0;
  let onReady;
  let onIdle = null;
  const ready = new Promise((resolve) => (onReady = resolve));

  const probe = () => {
    const startEpoch = performance.timeOrigin + performance.now();
    const started = performance.now();
    inFlight++;
    const done = (status) => {
      inFlight--;
      if (status === 0) errors++;
      else
        samples.push([Math.round(startEpoch * 1000) / 1000, performance.now() - started, status]);
      if (status === 200) onReady();
      if (onIdle && inFlight === 0) onIdle();
    };
    const request = http.get({ host: '127.0.0.1', port, path, agent: false }, (response) => {
      response.resume();
      response.on('end', () => done(response.statusCode));
      response.on('error', () => done(0));
    });
    request.setTimeout(30000, () => request.destroy(new Error('timeout')));
    request.on('error', () => done(0));
  };

  const timer = setInterval(probe, interval);
  return {
    ready,
    stop() {
      clearInterval(timer);
      return new Promise((resolve) => {
        const finish = () => resolve({ interval, samples, errors });
        if (inFlight === 0) finish();
        else onIdle = finish;
      });
    },
  };
}

let probing = null;
serveMessages(async (request) => {
  if (request.start) {
    probing = startProbing(request.start);
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error('no 200 from /healthz within 30 s')), 30000);
    });
    await Promise.race([probing.ready, timeout]).finally(() => clearTimeout(timer));
    return null;
  }
  if (request.stop && probing) return probing.stop();
  throw new Error(`unexpected request ${JSON.stringify(request)}`);
});
