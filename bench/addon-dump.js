#!/usr/bin/env node
// The addon's share of a scrape: dump the TCP table into columns and touch
// each batch, nothing else. Compare with bench/bin/nldump on the same
// extensions to see what the addon adds over the kernel floor.
//
//   node bench/addon-dump.js [--ext none|info,skmeminfo,...] [--repeat 5]
//                            [--warmup 1] [--batch-size N] [--families inet,inet6]
//   node bench/addon-dump.js --serve [--batch-size N]
//
// Run it inside the table's namespace (ip netns exec NAME node ...). Each run
// is `for await (const batch of dumpSockets({protocols: ['tcp'], ...}))`,
// timed from the call to the end of the last batch, like nldump times
// socket() to close(). Output mirrors nldump's, one line per run, then:
//   summary ext=... runs= rows= min_s= median_s= rows_per_s=
// Warm-up runs (default 1: the first dump in a process pays for loading the
// addon and for the JIT) print `warmup` lines and are not in the summary.
// With --serve it stays up, reads one extension list per line on stdin
// ("none" or e.g. "info,skmeminfo"), answers each with one `run` line, and
// exits at EOF: bench/measure.js keeps one warm process, like the exporter.
'use strict';

const path = require('node:path');
const { performance } = require('node:perf_hooks');

const EXTENSIONS = ['info', 'skmeminfo', 'meminfo'];

function usage(message) {
  process.stderr.write(
    `addon-dump: ${message}\n` +
      'usage: node bench/addon-dump.js [--ext none|info,skmeminfo,meminfo] [--repeat N]' +
      ' [--warmup N] [--batch-size N] [--families inet,inet6]\n',
  );
  process.exit(2);
}

function parseArgs(argv) {
  const options = {
    ext: [],
    repeat: 5,
    warmup: 1,
    batchSize: undefined,
    families: ['inet', 'inet6'],
    serve: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const eq = arg.indexOf('=');
    const name = eq >= 0 ? arg.slice(0, eq) : arg;
    const value = () => {
      if (eq >= 0) return arg.slice(eq + 1);
      if (i + 1 >= argv.length) usage(`${name} needs a value`);
      return argv[++i];
    };
    const count = (min) => {
      const raw = value();
      const n = Number(raw);
      if (!Number.isInteger(n) || n < min)
        usage(`${name} expects an integer >= ${min}, got ${JSON.stringify(raw)}`);
      return n;
    };
    switch (name) {
      case '--ext': {
        const raw = value();
        options.ext = raw === 'none' || raw === '0' || raw === '' ? [] : raw.split(',');
        for (const ext of options.ext) {
          if (!EXTENSIONS.includes(ext))
            usage(
              `unknown extension ${JSON.stringify(ext)}; expected none or ${EXTENSIONS.join(',')}`,
            );
        }
        break;
      }
      case '--repeat':
        options.repeat = count(1);
        break;
      case '--warmup':
        options.warmup = count(0);
        break;
      case '--batch-size':
        options.batchSize = count(1);
        break;
      case '--families':
        options.families = value().split(',');
        break;
      case '--serve':
        options.serve = true;
        break;
      case '--help':
      case '-h':
        usage('help');
        break;
      default:
        usage(`unknown argument ${JSON.stringify(arg)}`);
    }
  }
  return options;
}

function median(sorted) {
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

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

function dumpOptionsFor(ext, options) {
  const extensions = {};
  for (const name of ext) extensions[name] = true;
  const dumpOptions = { protocols: ['tcp'], families: options.families, extensions };
  if (options.batchSize) dumpOptions.batchSize = options.batchSize;
  return dumpOptions;
}

const line = (tag, n, r) =>
  `${tag} ${n} rows=${r.rows} batches=${r.batches} time_s=${r.seconds.toFixed(6)}` +
  ` user_s=${r.userSeconds.toFixed(3)} sys_s=${r.systemSeconds.toFixed(3)}\n`;

async function serve(dumpSockets, options) {
  const readline = require('node:readline');
  let n = 0;
  for await (const raw of readline.createInterface({ input: process.stdin })) {
    const request = raw.trim();
    const ext = request === 'none' || request === '' ? [] : request.split(',');
    const unknown = ext.find((name) => !EXTENSIONS.includes(name));
    if (unknown) {
      process.stdout.write(`error unknown extension ${JSON.stringify(unknown)}\n`);
      continue;
    }
    process.stdout.write(
      line('run', ++n, await dumpOnce(dumpSockets, dumpOptionsFor(ext, options))),
    );
  }
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  // bench/run.sh points SOCKDIAG_BENCH_CODE at its snapshot of dist/ and the addon.
  const code = process.env.SOCKDIAG_BENCH_CODE || path.join(__dirname, '..');
  const { dumpSockets } = require(path.join(code, 'dist', 'src', 'diag'));
  if (options.serve) return serve(dumpSockets, options);
  const dumpOptions = dumpOptionsFor(options.ext, options);
  const label = options.ext.length ? options.ext.join(',') : 'none';
  for (let n = 1; n <= options.warmup; n++) {
    process.stdout.write(line('warmup', n, await dumpOnce(dumpSockets, dumpOptions)));
  }
  const times = [];
  let rows = 0;
  for (let n = 1; n <= options.repeat; n++) {
    const result = await dumpOnce(dumpSockets, dumpOptions);
    times.push(result.seconds);
    rows = result.rows;
    process.stdout.write(line('run', n, result));
  }
  times.sort((a, b) => a - b);
  const mid = median(times);
  process.stdout.write(
    `summary ext=${label} runs=${options.repeat} rows=${rows} min_s=${times[0].toFixed(6)}` +
      ` median_s=${mid.toFixed(6)} rows_per_s=${mid > 0 ? Math.round(rows / mid) : 0}\n`,
  );
}

main().catch((error) => {
  process.stderr.write(`addon-dump: ${error && error.stack ? error.stack : error}\n`);
  process.exitCode = 1;
});
