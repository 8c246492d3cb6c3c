// Why /healthz waits during a scrape: runs the exporter's table scan
// (scanTable from dist/, with the exporter's default number of parallel
// dumps) the way a scrape does, while a 1 ms timer measures how long the
// event loop goes without turning. It also wraps TableScan#add to report,
// per batch, the main-thread time spent on it and whether the next batch
// was already waiting (then `for await` continues in a microtask, and
// consecutive batches run back to back without the event loop getting a
// turn).
//
// Forked by bench/lib/measure.js inside the table's namespace, in a process
// of its own because it patches the scan's prototype. The request is
// {code, repeat, batchSize?}; the reply has one entry per scan.
'use strict';

const path = require('node:path');
const { performance } = require('node:perf_hooks');
const { clearInterval, setInterval } = require('node:timers');
const { serveMessages } = require('./processes');

async function once(scan, batchSize) {
  const { scanTable, resolveParallelism, TableScan } = scan;
  const perBatch = [];
  const original = TableScan.prototype.add;
  let lastEnd = performance.now();
  TableScan.prototype.add = function add(batch, protocol) {
    const started = performance.now();
    const result = original.call(this, batch, protocol);
    const ended = performance.now();
    perBatch.push({ rows: batch.count, ms: ended - started, sinceLastMs: started - lastEnd });
    lastEnd = ended;
    return result;
  };
  const gaps = [];
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    gaps.push(now - last);
    last = now;
  }, 1);
  const started = performance.now();
  const options = {
    procfs: '/proc',
    trackPeers: false,
    peersLimit: 10,
    tcpInfo: true,
    ghostIdleSeconds: 3600,
    parallelism: resolveParallelism(0),
  };
  if (batchSize) options.batchSize = batchSize;
  let result;
  try {
    result = await scanTable(options);
  } finally {
    clearInterval(timer);
    TableScan.prototype.add = original;
  }
  const seconds = (performance.now() - started) / 1000;
  gaps.sort((a, b) => b - a);
  // A batch that starts < 0.05 ms after the previous one ended was already there.
  const waiting = perBatch.filter((b) => b.sinceLastMs < 0.05).length;
  return {
    rows: result.rows,
    seconds,
    parallelism: options.parallelism,
    batches: perBatch.length,
    addMs: perBatch.reduce((sum, b) => sum + b.ms, 0),
    maxBatchMs: Math.max(0, ...perBatch.map((b) => b.ms)),
    batchesAlreadyWaiting: waiting,
    topGapsMs: gaps.slice(0, 5),
    perBatch: perBatch.map((b) => [b.rows, Math.round(b.ms * 100) / 100]),
  };
}

serveMessages(async ({ code, repeat, batchSize }) => {
  const dir = path.join(code, 'dist', 'src', 'scan');
  const scan = { ...require(path.join(dir, 'scan')), ...require(path.join(dir, 'table-scan')) };
  const scans = [];
  for (let i = 0; i < repeat; i++) scans.push(await once(scan, batchSize));
  return scans;
});
