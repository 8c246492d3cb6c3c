// Preloaded into the exporter by bench/lib/measure.js (node --require
// bench/lib/prof-hook.js dist/src/cli/main.js ...) so that a CPU profile covers the
// scrapes only, not start-up: the first SIGUSR2 starts the V8 profiler, the
// second stops it and writes $SOCKDIAG_BENCH_PROFILE (a .cpuprofile that
// Chrome DevTools and bench/prof-summary.js read). Writes "$FILE.started"
// once profiling runs, so the caller knows when to begin. Only the main
// thread is sampled: time the addon's worker spends in the kernel shows up
// as (idle) here.
'use strict';

const fs = require('node:fs');
const inspector = require('node:inspector');

const file = process.env.SOCKDIAG_BENCH_PROFILE;
if (file) {
  const session = new inspector.Session();
  session.connect();
  let running = false;
  process.on('SIGUSR2', () => {
    if (!running) {
      running = true;
      session.post('Profiler.enable', () =>
        session.post('Profiler.setSamplingInterval', { interval: 200 }, () =>
          session.post('Profiler.start', () => fs.writeFileSync(`${file}.started`, '')),
        ),
      );
      return;
    }
    running = false;
    session.post('Profiler.stop', (error, result) => {
      if (error) {
        process.stderr.write(`prof-hook: ${error.message}\n`);
        return;
      }
      fs.writeFileSync(`${file}.tmp`, JSON.stringify(result.profile));
      fs.renameSync(`${file}.tmp`, file);
    });
  });
}
