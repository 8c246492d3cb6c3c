// The per-size and per-run tables of the report (bench/lib/report.js puts
// them together): timings per method, memory, /healthz, per-collector
// time, linearity, loop lag and profiles. Each takes [[sizeLabel, result]]
// sorted by size and returns Markdown lines, or none when the run did not
// measure that part (--only).
'use strict';

// [key, label, what it is compared with (a key of the same size) or null]
const METHODS = [
  ['c-ext0', 'C floor `nldump -e 0`', null],
  ['c-ext2', 'C floor `nldump -e 0x02` (INFO)', null],
  ['c-ext42', 'C floor `nldump -e 0x42` (INFO+SKMEMINFO)', null],
  ['addon-ext0', 'addon `dumpSockets` ext none (warm process)', 'c-ext0'],
  ['addon-ext42', 'addon `dumpSockets` ext info,skmeminfo (warm process)', 'c-ext42'],
  ['scrape', 'exporter `GET /metrics` (full scrape)', 'c-ext42'],
  [
    'scrape-anon',
    'the same without attribution (`--collector.sockets.cgroups-limit=0 --collector.listeners.processes=false`)',
    'scrape',
  ],
  [
    'scrape-split',
    'the same scrape always split in two parts (`--collector.sockets.parallel-dumps=2`)',
    'scrape',
  ],
  [
    'scrape-single',
    'the same scrape always in one walk (`--collector.sockets.parallel-dumps=1`)',
    'scrape',
  ],
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
const fmtCpu = (s) => (s === null ? '—' : s.toFixed(3));

/** Median seconds, CPU seconds and sockets/s per method of one size. */
function stats(result) {
  const out = {};
  for (const [key] of METHODS) {
    const samples = result.samples[key] ?? [];
    if (samples.length === 0) continue;
    const seconds = samples.map((s) => s.seconds);
    const cpu = samples.map((s) => s.cpuSeconds).filter(Number.isFinite);
    const rows = samples.at(-1).rows ?? result.tableRows;
    const med = median(seconds);
    out[key] = {
      rows,
      min: Math.min(...seconds),
      median: med,
      max: Math.max(...seconds),
      rate: rows / med,
      cpu: cpu.length === samples.length ? median(cpu) : null,
      recvmsg: samples.at(-1).recvmsg,
    };
  }
  return out;
}

function sizeParagraph(result, s) {
  const sockstat = result.sockstat;
  const states = Object.entries(result.tableByState ?? {})
    .map(([state, n]) => `${state} ${fmtInt(n)}`)
    .join(', ');
  const recvmsg = ['c-ext0', 'c-ext2', 'c-ext42']
    .filter((key) => s[key]?.recvmsg !== undefined)
    .map((key) => `${key} ${fmtInt(s[key].recvmsg)}`)
    .join(', ');
  return (
    `${result.rounds} interleaved rounds, medians. TCP sockets allocated host-wide at start: ` +
    `${fmtInt(sockstat.alloc ?? 0)} (so ${fmtInt(Math.max(0, (sockstat.alloc ?? 0) - result.tableRows))} outside this table, which every dump also walks). ` +
    (states ? `Table by state: ${states}. ` : '') +
    `Load average before/after: ${result.loadavgBefore.map((x) => x.toFixed(2)).join(' ')} / ${result.loadavgAfter.map((x) => x.toFixed(2)).join(' ')}` +
    (result.settle
      ? `; CPUs ${(result.settle.busy * 100).toFixed(0)}% busy when measuring began (after ${result.settle.waitedSeconds} s settling)`
      : '') +
    (result.roundSettle
      ? `; before each round ${result.roundSettle.map((r) => `${(r.busy * 100).toFixed(0)}%`).join(' ')} busy (waited ${result.roundSettle.reduce((a, r) => a + r.waitedSeconds, 0)} s in all)`
      : '') +
    `. ip_local_port_range ${result.portRange ? result.portRange.join('-') : '?'}.` +
    (recvmsg ? ` recvmsg calls per nldump: ${recvmsg}.` : '') +
    (result.ownersWarmUp
      ? ` Before the rounds, the exporter's listener owners (the budgeted /proc/PID/fd scan): ${result.ownersWarmUp.listeners - result.ownersWarmUp.unknown} of ${result.ownersWarmUp.listeners} known after ${result.ownersWarmUp.scrapes} scrapes a second apart (${result.ownersWarmUp.seconds.toFixed(0)} s).`
      : '') +
    (result.warmScrapes
      ? ` Then ${result.warmScrapes} untimed full scrapes of each exporter (5M rows: a long-running exporter's code is optimised).`
      : '')
  );
}

/** The timing table of one size: every method side by side, ratios to its floor. */
function sizeSection(size, result, s) {
  const lines = [
    `### ${size} TCP sockets`,
    '',
    sizeParagraph(result, s),
    '',
    '| method | rows | min s | median s | max s | sockets/s | CPU s | vs |',
    '|---|---:|---:|---:|---:|---:|---:|---|',
  ];
  for (const [key, label, base] of METHODS) {
    const m = s[key];
    if (!m) continue;
    const vs = base && s[base] ? `${(m.median / s[base].median).toFixed(2)}x ${base}` : '';
    const rate = key === 'cheap' ? '—' : fmtRate(m.rate);
    lines.push(
      `| ${label} | ${fmtInt(m.rows)} | ${fmtS(m.min)} | ${fmtS(m.median)} | ${fmtS(m.max)} | ${rate} | ${fmtCpu(m.cpu)} | ${vs} |`,
    );
  }
  return lines;
}

function memorySection(results) {
  const lines = [
    '| size | process | RSS idle MiB | RSS after rounds | RSS at end | peak (VmHWM) | peak - idle |',
    '|---|---|---:|---:|---:|---:|---:|',
  ];
  const before = lines.length;
  for (const [size, result] of results) {
    for (const [key, label] of [
      ['ours', 'sockdiag-exporter'],
      ['nodeExporter', 'node_exporter'],
    ]) {
      const m = result.memory?.[key];
      if (!m?.idle || !m.end) continue;
      const after = m.afterRounds ? m.afterRounds.rssMiB.toFixed(1) : '—';
      lines.push(
        `| ${size} | ${label} | ${m.idle.rssMiB.toFixed(1)} | ${after} | ${m.end.rssMiB.toFixed(1)} | ${m.end.hwmMiB.toFixed(1)} | +${(m.end.hwmMiB - m.idle.rssMiB).toFixed(1)} |`,
      );
    }
  }
  return lines.length > before ? lines : [];
}

function scrapeList(seconds) {
  if (seconds.length <= 8) return seconds.map((x) => x.toFixed(3)).join(' ');
  return `${seconds.length} scrapes, median ${median(seconds).toFixed(3)}, max ${Math.max(...seconds).toFixed(3)}`;
}

function healthzSection(results) {
  const measured = results.filter(([, result]) => result.healthz);
  if (measured.length === 0) return [];
  const lines = [
    '| size | idle p50 / p99 / max ms (n) | during scrapes p50 / p99 / max ms (n) | errors | those scrapes, s |',
    '|---|---|---|---:|---|',
  ];
  const cell = (h) => `${fmtMs(h.p50Ms)} / ${fmtMs(h.p99Ms)} / ${fmtMs(h.maxMs)} (${h.count})`;
  for (const [size, result] of measured) {
    const h = result.healthz;
    lines.push(
      `| ${size} | ${cell(h.idle)} | ${cell(h.duringScrapes)} | ${h.errors} | ${scrapeList(h.scrapeSeconds)} |`,
    );
  }
  return lines;
}

function collectorSection(results) {
  const names = new Set();
  for (const [, result] of results) {
    for (const d of result.collectorDurations ?? []) for (const n of Object.keys(d)) names.add(n);
    for (const c of result.samples.cheap ?? [])
      for (const n of Object.keys(c.collectors)) names.add(n);
  }
  if (names.size === 0) return [];
  const sorted = [...names].sort();
  const lines = [
    `| size | scrape | ${sorted.join(' | ')} |`,
    `|---|---|${sorted.map(() => '---:').join('|')}|`,
  ];
  const row = (size, kind, perScrape, digits) => {
    if (perScrape.length === 0) return;
    const cells = sorted.map((n) => {
      const values = perScrape.map((d) => d[n]).filter((v) => v !== undefined);
      return values.length ? (median(values) * 1000).toFixed(digits) : '—';
    });
    lines.push(`| ${size} | ${kind} | ${cells.join(' | ')} |`);
  };
  for (const [size, result] of results) {
    row(size, 'full', result.collectorDurations ?? [], 1);
    row(
      size,
      'cheap',
      (result.samples.cheap ?? []).map((c) => c.collectors),
      2,
    );
  }
  return lines;
}

/** Sockets/s at the largest size over the smallest, per method; null ratio when absent. */
function linearity(results, perSize) {
  if (results.length < 2) return [];
  const small = perSize.get(results[0][0]);
  const big = perSize.get(results.at(-1)[0]);
  return METHODS.filter(([key]) => key !== 'cheap' && small[key] && big[key]).map(
    ([key, label]) => ({ key, label, ratio: big[key].rate / small[key].rate }),
  );
}

function linearitySection(results, perSize, goal, verdict) {
  const rows = linearity(results, perSize);
  if (rows.length === 0) return [];
  const [smallSize] = results[0];
  const [bigSize] = results.at(-1);
  const isMillion = results.at(-1)[1].tableRows >= 900000;
  const lines = [
    `Sockets/s at ${bigSize} relative to ${smallSize} (1.00 = perfectly linear; goal at 1M: >= ${goal}).`,
    '',
    '| method | ' +
      results.map(([size]) => `${size} sockets/s`).join(' | ') +
      ' | ratio | verdict |',
    '|---|' + results.map(() => '---:|').join('') + '---:|---|',
  ];
  for (const { key, label, ratio } of rows) {
    const judged = isMillion ? verdict(ratio >= goal) : 'n/a (no 1M run)';
    const rates = results.map(([size]) => {
      const m = perSize.get(size)[key];
      return m ? fmtRate(m.rate) : '—';
    });
    lines.push(`| ${label} | ${rates.join(' | ')} | ${ratio.toFixed(2)} | ${judged} |`);
  }
  return lines;
}

function loopLagSection(results) {
  const measured = results.filter(([, result]) => result.loopLag?.length);
  if (measured.length === 0) return [];
  const lines = [
    '| size | parts | rows | scan s | batches | main-thread ms in `TableScan#add` | max batch ms | batches already waiting | longest loop gaps ms |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---|',
  ];
  for (const [size, result] of measured) {
    for (const scan of result.loopLag) {
      lines.push(
        `| ${size} | ${scan.parallelism} | ${fmtInt(scan.rows)} | ${scan.seconds.toFixed(3)} | ${scan.batches} | ${scan.addMs.toFixed(1)} | ${scan.maxBatchMs.toFixed(1)} | ${scan.batchesAlreadyWaiting} | ${scan.topGapsMs.map((g) => g.toFixed(1)).join(', ')} |`,
      );
    }
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

module.exports = {
  METHODS,
  collectorSection,
  fmtInt,
  fmtMs,
  healthzSection,
  linearity,
  linearitySection,
  loopLagSection,
  median,
  memorySection,
  profileSection,
  sizeSection,
  stats,
};
