// Turns the results of one run (one JSON object per size, from
// bench/lib/measure.js) into Markdown: a summary first (issue #6's goals
// at every size with pass/MISS, and the headline medians), then the timing
// table per size, memory, /healthz, per-collector times, linearity across
// sizes, the loop-lag scans and any CPU profile.
'use strict';

const tables = require('./report-tables');

const { fmtInt, fmtMs, median } = tables;

const TARGETS = {
  scrapeVsC: 1.2,
  fasterThanNodeExporter: 2,
  rssGrowthMiB: 64,
  healthzP99Ms: 10,
  cheapMs: 5,
  linearity: 0.8,
  cpuVsC: 1.15,
  wallVsC: 0.9,
  attribution: 0.05,
};

/** The scan-cost goals (#17) for `method`: its CPU, then its wall time, against the C floor's. */
function scanCostGoals(method, cpuGoal, wallGoal) {
  return [
    {
      goal: cpuGoal,
      target: `<= ${TARGETS.cpuVsC}x`,
      measure: ({ s }) => {
        const ours = s[method]?.cpu;
        const floor = s['c-ext42']?.cpu;
        if (!ours || !floor) return null;
        const r = ours / floor;
        return { value: `${r.toFixed(3)}x`, ok: r <= TARGETS.cpuVsC };
      },
    },
    {
      goal: wallGoal,
      target: `<= ${TARGETS.wallVsC}x`,
      measure: ({ ratio }) => {
        const r = ratio(method, 'c-ext42');
        return r === null ? null : { value: `${r.toFixed(3)}x`, ok: r <= TARGETS.wallVsC };
      },
    },
  ];
}

const verdict = (ok) => (ok === null ? '—' : ok ? 'pass' : '**MISS**');

/**
 * The goals, numbered as in issue #6. Each `measure` returns {value, ok}
 * for one size, or null when the run did not measure what the goal needs.
 * The addon rows have no goal of their own (ok null): they show what the
 * dump costs before aggregation.
 */
const GOALS = [
  {
    goal: '1. full scrape / C floor with tcp_info (`nldump -e 0x42`)',
    target: `<= ${TARGETS.scrapeVsC}x`,
    measure: ({ ratio }) => {
      const r = ratio('scrape', 'c-ext42');
      return r === null ? null : { value: `${r.toFixed(3)}x`, ok: r <= TARGETS.scrapeVsC };
    },
  },
  {
    goal: '2. node_exporter tcpstat / our full scrape',
    target: `>= ${TARGETS.fasterThanNodeExporter}x`,
    measure: ({ ratio }) => {
      const r = ratio('node-exporter', 'scrape');
      return r === null
        ? null
        : { value: `${r.toFixed(3)}x`, ok: r >= TARGETS.fasterThanNodeExporter };
    },
  },
  {
    goal: '4. peak RSS - idle RSS of the exporter (stated for 1M)',
    target: `<= ${TARGETS.rssGrowthMiB} MiB`,
    measure: ({ result }) => {
      const m = result.memory?.ours;
      if (!m?.idle || !m.end) return null;
      const growth = m.end.hwmMiB - m.idle.rssMiB;
      return { value: `+${growth.toFixed(1)} MiB`, ok: growth <= TARGETS.rssGrowthMiB };
    },
  },
  {
    goal: '5. /healthz p99 during back-to-back full scrapes',
    target: `< ${TARGETS.healthzP99Ms} ms`,
    measure: ({ result }) => {
      if (!result.healthz) return null;
      const p99 = result.healthz.duringScrapes.p99Ms;
      return { value: `${fmtMs(p99)} ms`, ok: p99 !== null && p99 < TARGETS.healthzP99Ms };
    },
  },
  {
    // The collectors start together and run concurrently, so a scrape's
    // collector time is the slowest of the four. The HTTP request adds
    // process metrics, rendering and the connection.
    goal: '6. listeners+netstat+sockstat+sysctl collector time, median (max; whole HTTP request)',
    target: `< ${TARGETS.cheapMs} ms`,
    measure: ({ result, s }) => {
      if (!s.cheap) return null;
      const together = result.samples.cheap
        .map((c) => Math.max(...Object.values(c.collectors)))
        .filter(Number.isFinite);
      if (together.length === 0) return null;
      const ms = median(together) * 1000;
      const max = Math.max(...together) * 1000;
      const http = s.cheap.median * 1000;
      return {
        value: `${ms.toFixed(2)} ms (${max.toFixed(2)}; HTTP ${http.toFixed(2)})`,
        ok: ms < TARGETS.cheapMs,
      };
    },
  },
  {
    goal: '7. stretch: full scrape below the single-threaded C dump',
    target: '< 1.0x',
    measure: ({ ratio }) => {
      const r = ratio('scrape', 'c-ext42');
      return r === null ? null : { value: `${r.toFixed(3)}x`, ok: r < 1 };
    },
  },
  ...scanCostGoals(
    'scrape',
    'scan cost: CPU per full scrape / C floor CPU with tcp_info (`nldump -e 0x42`)',
    'scan cost: wall time of a full scrape / C floor with tcp_info',
  ),
  {
    // The same scrape from a second exporter without owner attribution
    // (no per-cgroup counts, no listener process scan): what it adds.
    goal: 'owners: attribution added to a full scrape, CPU (wall)',
    target: `<= ${TARGETS.attribution * 100}%`,
    measure: ({ s }) => {
      const ours = s.scrape;
      const anon = s['scrape-anon'];
      if (!ours?.cpu || !anon?.cpu) return null;
      const cpu = ours.cpu / anon.cpu - 1;
      const wall = ours.median / anon.median - 1;
      const pct = (x) => `${(x * 100).toFixed(1)}%`;
      return { value: `${pct(cpu)} (${pct(wall)})`, ok: cpu <= TARGETS.attribution };
    },
  },
  {
    // What auto gave up or chose (src/scan/walk-choice.ts): the same
    // scrape from an exporter that always splits the TCP walk in two.
    goal: 'diagnostic: a scrape always split in two / the default scrape, CPU (wall)',
    target: '—',
    measure: ({ s }) => {
      const ours = s.scrape;
      const split = s['scrape-split'];
      if (!ours?.cpu || !split?.cpu) return null;
      return {
        value: `${(split.cpu / ours.cpu).toFixed(3)}x (${(split.median / ours.median).toFixed(3)}x)`,
        ok: null,
      };
    },
  },
  // The same goals for an exporter that always walks once
  // (--collector.sockets.parallel-dumps=1), measured in the same rounds:
  // the CPU the default's split spends, and the wall time it buys.
  ...scanCostGoals(
    'scrape-single',
    'scan cost, always one walk: CPU per full scrape / C floor CPU',
    'scan cost, always one walk: wall time / C floor',
  ),
  {
    goal: 'diagnostic: one addon dump / C, ext info,skmeminfo',
    target: '—',
    measure: ({ ratio }) => {
      const r = ratio('addon-ext42', 'c-ext42');
      return r === null ? null : { value: `${r.toFixed(3)}x`, ok: null };
    },
  },
  {
    goal: 'diagnostic: one addon dump / C, ext none',
    target: '—',
    measure: ({ ratio }) => {
      const r = ratio('addon-ext0', 'c-ext0');
      return r === null ? null : { value: `${r.toFixed(3)}x`, ok: null };
    },
  },
];

/** "pass", "**MISS** at 100,018" or "—" over the sizes that measured a goal. */
function overall(cells) {
  const judged = cells.filter(([, c]) => c && c.ok !== null);
  if (judged.length === 0) return '—';
  const missed = judged.filter(([, c]) => !c.ok).map(([size]) => size);
  if (missed.length === 0) return 'pass';
  return missed.length === judged.length ? '**MISS**' : `**MISS** at ${missed.join(', ')}`;
}

function summarySection(results, perSize) {
  const sizes = results.map(([size]) => size);
  const lines = [
    `| goal | target | ${sizes.join(' | ')} | verdict |`,
    `|---|---|${sizes.map(() => '---:|').join('')}---|`,
  ];
  for (const { goal, target, measure } of GOALS) {
    const cells = results.map(([size, result]) => {
      const s = perSize.get(size);
      const ratio = (a, b) => (s[a] && s[b] ? s[a].median / s[b].median : null);
      return [size, measure({ result, s, ratio })];
    });
    if (cells.every(([, c]) => c === null)) continue;
    const values = cells.map(([, c]) => (c ? c.value : '—'));
    lines.push(`| ${goal} | ${target} | ${values.join(' | ')} | ${overall(cells)} |`);
  }
  const scrape = tables.linearity(results, perSize).find((row) => row.key === 'scrape');
  if (scrape) {
    const isMillion = results.at(-1)[1].tableRows >= 900000;
    const judged = isMillion ? verdict(scrape.ratio >= TARGETS.linearity) : 'n/a (no 1M run)';
    const blanks = sizes.slice(1).map(() => '');
    lines.push(
      `| 3. full scrape sockets/s at ${sizes.at(-1)} / at ${sizes[0]} (stated for 1M) | >= ${TARGETS.linearity} | ${[...blanks, scrape.ratio.toFixed(2)].join(' | ')} | ${judged} |`,
    );
  }
  if (lines.length === 2) lines.splice(0, 2, 'No goal applies to what this run measured (--only).');
  lines.push('');
  const headline = [
    ['c-ext42', 'C floor with INFO+SKMEMINFO'],
    ['scrape', 'our full scrape'],
    ['node-exporter', 'node_exporter'],
    ['ss', '`ss -tan`'],
  ];
  for (const [size] of results) {
    const s = perSize.get(size);
    const parts = headline
      .filter(([key]) => s[key])
      .map(([key, label]) => `${label} ${s[key].median.toFixed(3)} s`);
    if (parts.length) lines.push(`Medians at ${size}: ${parts.join(', ')}.`, '');
  }
  return lines;
}

function header(results) {
  const first = results[0][1];
  const build = first.build ?? {};
  return [
    `## Run of ${first.startedAt.slice(0, 19).replace('T', ' ')} UTC`,
    '',
    `Machine: ${first.machine.nproc} CPUs (nproc), kernel ${first.machine.kernel}, node ${first.machine.node}, ` +
      `${first.rounds} rounds per size. Date: ${new Date(first.startedAt).toUTCString()}.` +
      (first.only ? ` Measured: ${first.only.join(', ')}.` : ''),
    '',
    `Code measured: commit ${build.head ?? '?'} with ${build.changedFiles ?? '?'} changed files under src/ and native/; ` +
      `dist/ built ${build.distBuilt ?? '?'}, addon built ${build.addonBuilt ?? '?'}` +
      `${build.snapshot ? ', run from a snapshot taken at the start' : ''}; code hash ${results.map(([, r]) => r.build?.codeHash ?? '?').join(', ')} (per size).`,
    '',
  ];
}

/** The Markdown of one run; `parsed` holds one result object per size. */
function report(parsed) {
  const results = parsed
    .map((result) => [fmtInt(result.tableRows), result])
    .sort((a, b) => a[1].tableRows - b[1].tableRows);
  const perSize = new Map(results.map(([size, result]) => [size, tables.stats(result)]));
  const lines = [...header(results), '### Summary', '', ...summarySection(results, perSize)];
  for (const [size, result] of results)
    lines.push(...tables.sizeSection(size, result, perSize.get(size)), '');
  lines.push(
    'CPU s: user + system time of the process that did the work (nldump; the addon process, ' +
      "its worker included; the exporter's process, all threads; the ss pipeline), median; " +
      "the exporters' and ss's come from /proc in 10 ms ticks.",
    '',
  );
  const section = (title, body, ...intro) => {
    if (body.length) lines.push(`### ${title}`, '', ...intro, ...body, '');
  };
  section('Memory', tables.memorySection(results));
  section('/healthz every 10 ms (fresh connection each)', tables.healthzSection(results));
  section(
    'Per-collector time, ms (`sockdiag_scrape_collector_duration_seconds`, median)',
    tables.collectorSection(results),
    'Collectors run concurrently, so a collector that waits for a shared source (the table scan) or for the event loop counts that wait too.',
    '',
  );
  section('Linearity', tables.linearitySection(results, perSize, TARGETS.linearity, verdict));
  section(
    'Event-loop gaps during the table scan (loop lag)',
    tables.loopLagSection(results),
    "The exporter's scan alone, in a process of its own, with a 1 ms timer; one row per scan.",
    '',
  );
  section('Profile', tables.profileSection(results));
  return `${lines.join('\n').trimEnd()}\n`;
}

module.exports = { report };
