// The addon's share of a scrape: dump the TCP table into columns and count
// the rows of each batch, nothing else. Compared with bench/bin/nldump on
// the same extensions, it shows what the addon adds over the kernel floor.
//
// Forked by bench/lib/measure.js inside the table's namespace and kept for
// all rounds, warm like the exporter: a round then measures the steady
// state, not the first dumps of a fresh process (loading the addon, the
// JIT, first-touch page faults of new batch buffers). Each request is
// {code, ext: ['info', 'skmeminfo'], batchSize?}; the reply is one dump's
// {rows, batches, seconds, userSeconds, systemSeconds}, timed from the call
// to the end of the last batch, as nldump times socket() to close().
'use strict';

const path = require('node:path');
const { performance } = require('node:perf_hooks');
const { serveMessages } = require('./processes');

const EXTENSIONS = ['info', 'skmeminfo', 'meminfo'];

async function dumpOnce(dumpSockets, dumpOptions) {
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  let rows = 0;
  let batches = 0;
  for await (const batch of dumpSockets(dumpOptions)) {
    rows += batch.count;
    batches++;
  }
  const seconds = (performance.now() - started) / 1000;
  // Process-wide, so it includes the addon's worker thread.
  const cpu = process.cpuUsage(cpuBefore);
  return { rows, batches, seconds, userSeconds: cpu.user / 1e6, systemSeconds: cpu.system / 1e6 };
}

function dumpOptionsFor(ext, batchSize) {
  const unknown = ext.find((name) => !EXTENSIONS.includes(name));
  if (unknown) throw new Error(`unknown extension ${JSON.stringify(unknown)}`);
  const extensions = {};
  for (const name of ext) extensions[name] = true;
  const dumpOptions = { protocols: ['tcp'], families: ['inet', 'inet6'], extensions };
  if (batchSize) dumpOptions.batchSize = batchSize;
  return dumpOptions;
}

serveMessages(({ code, ext, batchSize }) => {
  const { dumpSockets } = require(path.join(code, 'dist', 'src', 'diag'));
  return dumpOnce(dumpSockets, dumpOptionsFor(ext, batchSize));
});
