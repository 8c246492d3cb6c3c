#!/usr/bin/env node
// Turns bench/measure.js results (one JSON per size) into Markdown: the
// timing table per size, the goals with pass/MISS, memory, /healthz,
// per-collector times, linearity across sizes and any CPU profile.
//
//   node bench/report.js [--append bench/RESULTS.md] size-100000.json ...
'use strict';

const fs = require('node:fs');

const GOALS = {
  scrapeVsC: 1.2,
  fasterThanNodeExporter: 2,
  rssGrowthMiB: 64,
  healthzP99Ms: 10,
  cheapMs: 5,
  linearity: 0.8,
};

// [key, label, what it is compared with (a key of the same size) or null]
const METHODS = [
  ['c-ext0', 'C floor `nldump -e 0`', null],
  ['c-ext42', 'C floor `nldump -e 0x42` (INFO+SKMEMINFO)', null],
  ['addon-ext0', 'addon `dumpSockets` ext none (warm process)', 'c-ext0'],
  ['addon-ext42', 'addon `dumpSockets` ext info,skmeminfo (warm process)', 'c-ext42'],
  ['scrape', 'exporter `GET /metrics` (full scrape)', 'c-ext42'],
  ['node-exporter', 'node_exporter 1.5.0 tcpstat `GET /metrics`', 'c-ext42'],
  ['ss', '`ss -tan | wc -l`', 'c-ext0'],
  ['cheap', 'exporter `GET /metrics?collect[]=` listeners,netstat,sockstat,sysctl', null],
];

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const fmtInt = (n) => Math.round(n).toLocaleString('en-US');
const fmtS = (s) => s.toFixed(4);
const fmtMs = (ms) => (ms === null || ms === undefined ? '—' : ms.toFixed(2));
const fmtRate = (r) => (r >= 1e6 ? `${(r / 1e6).toFixed(2)} M` : `${(r / 1e3).toFixed(0)} k`);
const verdict = (ok) => (ok === null ? '—' : ok ? 'pass' : '**MISS**');

/** Median seconds and sockets/s per method of one size. */
function stats(result) {
  const out = {};
  for (const [key] of METHODS) {
    const samples = result.samples[key] ?? [];
    if (samples.length === 0) continue;
    const seconds = samples.map((s) => s.seconds);
    const rows = samples.at(-1).rows ?? result.tableRows;
    const med = median(seconds);
    out[key] = {
      rows,
      min: Math.min(...seconds),
      median: med,
      max: Math.max(...seconds),
      rate: rows / med,
    };
  }
  return out;
}

function sizeSection(size, result, s) {
  const lines = [];
  const sockstat = result.sockstat;
  lines.push(
    `### ${size} TCP sockets`,
    '',
    `${result.rounds} interleaved rounds, medians. TCP sockets allocated host-wide at start: ` +
      `${fmtInt(sockstat.alloc ?? 0)} (so ${fmtInt(Math.max(0, (sockstat.alloc ?? 0) - result.tableRows))} outside this table, which every dump also walks). ` +
      `Load average before/after: ${result.loadavgBefore.map((x) => x.toFixed(2)).join(' ')} / ${result.loadavgAfter.map((x) => x.toFixed(2)).join(' ')}` +
      (result.settle
        ? `; CPUs ${(result.settle.busy * 100).toFixed(0)}% busy when measuring began (after ${result.settle.waitedSeconds} s settling)`
        : '') +
      (result.roundSettle
        ? `; before each round ${result.roundSettle.map((r) => `${(r.busy * 100).toFixed(0)}%`).join(' ')} busy (waited ${result.roundSettle.reduce((a, r) => a + r.waitedSeconds, 0)} s in all)`
        : '') +
      `. ip_local_port_range ${result.portRange ? result.portRange.join('-') : '?'}.`,
    '',
    '| method | rows | min s | median s | max s | sockets/s | vs |',
    '|---|---:|---:|---:|---:|---:|---|',
  );
  for (const [key, label, base] of METHODS) {
    const m = s[key];
    if (!m) continue;
    const vs = base && s[base] ? `${(m.median / s[base].median).toFixed(2)}x ${base}` : '';
    const rate = key === 'cheap' ? '—' : fmtRate(m.rate);
    lines.push(
      `| ${label} | ${fmtInt(m.rows)} | ${fmtS(m.min)} | ${fmtS(m.median)} | ${fmtS(m.max)} | ${rate} | ${vs} |`,
    );
  }
  return lines;
}

function goalRows(size, result, s) {
  const rows = [];
  const ratio = (a, b) => s[a].median / s[b].median;
  // Issue #6's goals by number; the addon rows have no goal of their own
  // (null verdict): they show what the dump costs before aggregation.
  const scrapeVsC = ratio('scrape', 'c-ext42');
  rows.push([
    size,
    `1. full scrape / C with tcp_info <= ${GOALS.scrapeVsC}x`,
    `${scrapeVsC.toFixed(3)}x`,
    scrapeVsC <= GOALS.scrapeVsC,
  ]);
  const faster = ratio('node-exporter', 'scrape');
  rows.push([
    size,
    `2. >= ${GOALS.fasterThanNodeExporter}x faster than node_exporter tcpstat`,
    `${faster.toFixed(3)}x`,
    faster >= GOALS.fasterThanNodeExporter,
  ]);
  rows.push([
    size,
    '7. stretch: full scrape below 1.0x the single-threaded C dump',
    `${scrapeVsC.toFixed(3)}x`,
    scrapeVsC < 1,
  ]);
  rows.push([
    size,
    'diagnostic: one addon Dump / C, ext info,skmeminfo',
    `${ratio('addon-ext42', 'c-ext42').toFixed(3)}x`,
    null,
  ]);
  rows.push([
    size,
    'diagnostic: one addon Dump / C, ext none',
    `${ratio('addon-ext0', 'c-ext0').toFixed(3)}x`,
    null,
  ]);
  const mem = result.memory.ours;
  const growth = mem.end.hwmMiB - mem.idle.rssMiB;
  rows.push([
    size,
    `4. peak RSS <= idle + ${GOALS.rssGrowthMiB} MiB (goal is for 1M)`,
    `+${growth.toFixed(1)} MiB (${mem.idle.rssMiB.toFixed(1)} -> ${mem.end.hwmMiB.toFixed(1)})`,
    growth <= GOALS.rssGrowthMiB,
  ]);
  const p99 = result.healthz.duringScrapes.p99Ms;
  rows.push([
    size,
    `5. /healthz p99 during scrapes < ${GOALS.healthzP99Ms} ms`,
    `${fmtMs(p99)} ms`,
    p99 !== null && p99 < GOALS.healthzP99Ms,
  ]);
  // Goal 6 is about the collectors: they start together and run
  // concurrently, so a scrape's collector time is the slowest of the four.
  // The HTTP request adds process metrics, rendering and the connection.
  const together = result.samples.cheap
    .map((c) => Math.max(...Object.values(c.collectors)))
    .filter(Number.isFinite);
  const collectorsMs = together.length ? median(together) * 1000 : NaN;
  const httpMs = s.cheap.median * 1000;
  rows.push([
    size,
    `6. listeners+netstat+sockstat+sysctl collectors < ${GOALS.cheapMs} ms`,
    `${collectorsMs.toFixed(2)} ms median, ${(Math.max(...together) * 1000).toFixed(2)} max (whole HTTP request: ${httpMs.toFixed(2)} ms median)`,
    collectorsMs < GOALS.cheapMs,
  ]);
  return rows;
}

function memorySection(results) {
  const lines = [
    '| size | process | RSS idle MiB | RSS after rounds | RSS at end | peak (VmHWM) | peak - idle |',
    '|---|---|---:|---:|---:|---:|---:|',
  ];
  for (const [size, result] of results) {
    for (const [key, label] of [
      ['ours', 'sockdiag-exporter'],
      ['nodeExporter', 'node_exporter'],
    ]) {
      const m = result.memory[key];
      lines.push(
        `| ${size} | ${label} | ${m.idle.rssMiB.toFixed(1)} | ${m.afterRounds.rssMiB.toFixed(1)} | ${m.end.rssMiB.toFixed(1)} | ${m.end.hwmMiB.toFixed(1)} | +${(m.end.hwmMiB - m.idle.rssMiB).toFixed(1)} |`,
      );
    }
  }
  return lines;
}

function scrapeList(seconds) {
  if (seconds.length <= 8) return seconds.map((x) => x.toFixed(3)).join(' ');
  return `${seconds.length} scrapes, median ${median(seconds).toFixed(3)}, max ${Math.max(...seconds).toFixed(3)}`;
}

function healthzSection(results) {
  const lines = [
    '| size | idle p50 / p99 / max ms (n) | during scrapes p50 / p99 / max ms (n) | errors | those scrapes, s |',
    '|---|---|---|---:|---|',
  ];
  const cell = (h) => `${fmtMs(h.p50Ms)} / ${fmtMs(h.p99Ms)} / ${fmtMs(h.maxMs)} (${h.count})`;
  for (const [size, result] of results) {
    const h = result.healthz;
    lines.push(
      `| ${size} | ${cell(h.idle)} | ${cell(h.duringScrapes)} | ${h.errors} | ${scrapeList(h.scrapeSeconds)} |`,
    );
  }
  return lines;
}

function collectorSection(results) {
  const names = new Set();
  for (const [, result] of results)
    for (const d of result.collectorDurations) for (const n of Object.keys(d)) names.add(n);
  const sorted = [...names].sort();
  const lines = [
    `| size | scrape | ${sorted.join(' | ')} |`,
    `|---|---|${sorted.map(() => '---:').join('|')}|`,
  ];
  for (const [size, result] of results) {
    const full = sorted.map((n) => {
      const values = result.collectorDurations.map((d) => d[n]).filter((v) => v !== undefined);
      return values.length ? (median(values) * 1000).toFixed(1) : '—';
    });
    lines.push(`| ${size} | full | ${full.join(' | ')} |`);
    const cheap = sorted.map((n) => {
      const values = result.samples.cheap
        .map((c) => c.collectors[n])
        .filter((v) => v !== undefined);
      return values.length ? (median(values) * 1000).toFixed(2) : '—';
    });
    lines.push(`| ${size} | cheap | ${cheap.join(' | ')} |`);
  }
  return lines;
}

function linearitySection(results, perSize) {
  if (results.length < 2) return [];
  const [smallSize] = results[0];
  const [bigSize] = results.at(-1);
  const small = perSize.get(smallSize);
  const big = perSize.get(bigSize);
  const isMillion = results.at(-1)[1].tableRows >= 900000;
  const lines = [
    `Sockets/s at ${bigSize} relative to ${smallSize} (1.00 = perfectly linear; goal at 1M: >= ${GOALS.linearity}).`,
    '',
    '| method | ' +
      results.map(([size]) => `${size} sockets/s`).join(' | ') +
      ' | ratio | verdict |',
    '|---|' + results.map(() => '---:|').join('') + '---:|---|',
  ];
  for (const [key, label] of METHODS) {
    if (key === 'cheap' || !small[key] || !big[key]) continue;
    const ratio = big[key].rate / small[key].rate;
    const judged = isMillion ? verdict(ratio >= GOALS.linearity) : 'n/a (no 1M run)';
    lines.push(
      `| ${label} | ${results.map(([size]) => fmtRate(perSize.get(size)[key].rate)).join(' | ')} | ${ratio.toFixed(2)} | ${judged} |`,
    );
  }
  return lines;
}

function profileSection(results) {
  const lines = [];
  for (const [size, result] of results) {
    if (!result.profile) continue;
    const p = result.profile;
    lines.push(
      `CPU profile of the exporter's main thread over ${p.scrapeSeconds.length} full scrapes at ${size} ` +
        `(scrapes took ${p.scrapeSeconds.map((x) => x.toFixed(3)).join(' ')} s under the profiler):`,
      '',
      '```',
      p.text.trimEnd(),
      '```',
      '',
    );
  }
  return lines;
}

function report(files) {
  const results = files
    .map((file) => JSON.parse(fs.readFileSync(file, 'utf8')))
    .map((result) => [fmtInt(result.tableRows), result])
    .sort((a, b) => a[1].tableRows - b[1].tableRows);
  const perSize = new Map(results.map(([size, result]) => [size, stats(result)]));
  const first = results[0][1];
  const lines = [
    `## Run of ${first.startedAt.slice(0, 19).replace('T', ' ')} UTC`,
    '',
    `Machine: ${first.machine.nproc} CPUs (nproc), kernel ${first.machine.kernel}, node ${first.machine.node}, ` +
      `${first.rounds} rounds per size. Date: ${new Date(first.startedAt).toUTCString()}.`,
    '',
    `Code measured: commit ${first.build?.head ?? '?'} with ${first.build?.changedFiles ?? '?'} changed files under src/ and native/; ` +
      `dist/ built ${first.build?.distBuilt ?? '?'}, addon built ${first.build?.addonBuilt ?? '?'}` +
      `${first.build?.snapshot ? ', run from a snapshot taken at the start' : ''}; code hash ${results.map(([, r]) => r.build?.codeHash ?? '?').join(', ')} (per size).`,
    '',
  ];
  const goals = [];
  for (const [size, result] of results) {
    lines.push(...sizeSection(size, result, perSize.get(size)), '');
    goals.push(...goalRows(size, result, perSize.get(size)));
  }
  lines.push('### Goals', '', '| size | goal | measured | verdict |', '|---|---|---|---|');
  for (const [size, goal, measured, ok] of goals)
    lines.push(`| ${size} | ${goal} | ${measured} | ${verdict(ok)} |`);
  lines.push('', '### Memory', '', ...memorySection(results), '');
  lines.push(
    '### /healthz every 10 ms (fresh connection each)',
    '',
    ...healthzSection(results),
    '',
  );
  lines.push(
    '### Per-collector time, ms (`sockdiag_scrape_collector_duration_seconds`, median)',
    '',
    'Collectors run concurrently, so a collector that waits for a shared source (the table scan) or for the event loop counts that wait too.',
    '',
    ...collectorSection(results),
    '',
  );
  const linearity = linearitySection(results, perSize);
  if (linearity.length) lines.push('### Linearity', '', ...linearity, '');
  const profile = profileSection(results);
  if (profile.length) lines.push('### Profile', '', ...profile);
  return `${lines.join('\n').trimEnd()}\n`;
}

function main() {
  const args = process.argv.slice(2);
  let append = '';
  const files = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--append') append = args[++i];
    else files.push(args[i]);
  }
  if (files.length === 0) {
    process.stderr.write('usage: node bench/report.js [--append RESULTS.md] RESULT.json...\n');
    process.exit(2);
  }
  const text = report(files);
  process.stdout.write(text);
  if (append) fs.appendFileSync(append, `\n${text}`);
}

main();
