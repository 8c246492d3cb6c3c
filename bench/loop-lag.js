#!/usr/bin/env node
// Why /healthz waits during a scrape: runs the exporter's table scan
// (scanTable from dist/) the way a scrape does, while a 1 ms timer measures
// how long the event loop goes without turning. Also wraps the scan's
// batches to report, per batch, the main-thread time spent on it and
// whether the next batch was already waiting (then `for await` continues
// in a microtask, and consecutive batches run back to back without the
// event loop getting a turn).
//
//   ip netns exec NAME node bench/loop-lag.js [--repeat 3] [--batch-size N] [--verbose]
'use strict';

const path = require('node:path');
const { performance } = require('node:perf_hooks');
const { setInterval, clearInterval } = require('node:timers');

const code = process.env.SOCKDIAG_BENCH_CODE || path.join(__dirname, '..');
const { scanTable, TableScan } = require(path.join(code, 'dist', 'src', 'scan', 'table-scan'));

const repeatIndex = process.argv.indexOf('--repeat');
const repeat = repeatIndex >= 0 ? Number(process.argv[repeatIndex + 1]) : 3;
const verbose = process.argv.includes('--verbose');
const batchIndex = process.argv.indexOf('--batch-size');
const batchSize = batchIndex >= 0 ? Number(process.argv[batchIndex + 1]) : undefined;

async function once() {
  // Per-batch main-thread time, measured around TableScan#add.
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
  };
  if (batchSize) options.batchSize = batchSize;
  const scan = await scanTable(options);
  const seconds = (performance.now() - started) / 1000;
  clearInterval(timer);
  TableScan.prototype.add = original;
  gaps.sort((a, b) => b - a);
  const busy = perBatch.reduce((sum, b) => sum + b.ms, 0);
  // A batch that starts < 0.05 ms after the previous one ended was already there.
  const chained = perBatch.filter((b) => b.sinceLastMs < 0.05).length;
  const maxBatch = Math.max(...perBatch.map((b) => b.ms));
  process.stdout.write(
    `scan rows=${scan.rows} time_s=${seconds.toFixed(3)} batches=${perBatch.length} add_ms=${busy.toFixed(1)}` +
      ` max_batch_ms=${maxBatch.toFixed(1)} batches_already_waiting=${chained}` +
      ` loop_gaps_ms(top5)=${gaps
        .slice(0, 5)
        .map((g) => g.toFixed(1))
        .join(',')}\n`,
  );
  if (verbose) {
    process.stdout.write(
      `  per batch (rows:ms): ${perBatch.map((b) => `${b.rows}:${b.ms.toFixed(1)}`).join(' ')}\n`,
    );
  }
}

(async () => {
  for (let i = 0; i < repeat; i++) await once();
})().catch((error) => {
  process.stderr.write(`loop-lag: ${error && error.stack ? error.stack : error}\n`);
  process.exitCode = 1;
});
