// The closed-connection case's result (bench/lib/churn.js) as Markdown: the
// goals of issue #15 with pass/MISS, then every round. One close is one
// socket's destroy event: a loopback connection closes two sockets (client
// and server), a connection to or from another host one.
'use strict';

const { fmtInt, median } = require('./report-tables');

const TARGETS = { lost: 0, cpuPercentPer1k: 3 };
const verdict = (ok) => (ok ? 'pass' : '**MISS**');
const pct = (cores) => `${(cores * 100).toFixed(1)} %`;

/** Per round: rates, events, the exporter's CPU net of its idle, the machine's. */
function figures(round, seconds) {
  const w = round.with;
  const e = w.exporter;
  const events = 2 * w.made;
  const closesPerSecond = events / w.seconds;
  const exporterCores = e.cpuSeconds / w.seconds - e.idleCpuPerSecond;
  return {
    connectionsPerSecond: w.rate,
    closesPerSecond,
    events,
    counted: e.counted,
    lost: e.lost,
    exporterCores,
    idleCores: e.idleCpuPerSecond,
    perThousandCloses: exporterCores / (closesPerSecond / 1000),
    generatorWithout: round.without.cpuSeconds / round.without.seconds,
    generatorWith: w.cpuSeconds / w.seconds,
    machineWithout: round.without.machineBusySeconds / round.without.seconds,
    machineWith: w.machineBusySeconds / w.seconds,
    withoutRate: round.without.rate,
    failed: w.failed + round.without.failed,
    seconds,
  };
}

function report(result) {
  const started = new Date(result.startedAt);
  const rows = result.rounds.map((round) => figures(round, result.seconds));
  const b = result.build;
  const lines = [
    `## Closed connections: run of ${started.toISOString().replace('T', ' ').slice(0, 19)} UTC`,
    '',
    `Machine: ${result.machine.nproc} CPUs (nproc), kernel ${result.machine.kernel}, node ${result.machine.node}. ` +
      `Code measured: commit ${b.head} with ${b.changedFiles} changed files under src/ and native/, code hash ${b.codeHash}. ` +
      `Load average before/after: ${result.loadavgBefore.map((l) => l.toFixed(2)).join(' ')} / ${result.loadavgAfter.map((l) => l.toFixed(2)).join(' ')}.`,
    '',
    `\`node bench/main.js --closed\`: in a namespace of its own (net.ipv4.tcp_max_tw_buckets 0, so no TIME_WAIT piles up), ` +
      `\`bench/bin/churn\` opens and closes ${fmtInt(result.rate)} loopback connections per second for ${result.seconds} s ` +
      '(100 bytes up, 200 down, FIN both ways), once without a subscriber and once with an exporter running only ' +
      '`--collector.closed` (default 16 MiB buffer). A close is one socket freed: each loopback connection closes two. ' +
      `${result.rounds.length} rounds, medians in the goals.`,
    '',
    '### Goals',
    '',
    '| goal | target | measured | verdict |',
    '|---|---|---|---|',
  ];
  const lost = Math.max(...rows.map((r) => r.lost));
  const perK = median(rows.map((r) => r.perThousandCloses));
  const rate = median(rows.map((r) => r.connectionsPerSecond));
  lines.push(
    `| events lost at ${fmtInt(rate)} connections/s | ${TARGETS.lost} | ${fmtInt(lost)} (worst round) | ${verdict(lost <= TARGETS.lost)} |`,
    `| exporter CPU per 1,000 closes/s | <= ${TARGETS.cpuPercentPer1k} % of a core | ${pct(perK)} (${pct(2 * perK)} per 1,000 loopback connections/s) | ${verdict(perK * 100 <= TARGETS.cpuPercentPer1k)} |`,
    '',
    '### Rounds',
    '',
    'CPU in cores (1.00 = one CPU busy the whole run). The exporter figure is net of its idle CPU over 5 s before the churn. ' +
      "The generator's CPU is both ends' kernel TCP work; the machine's is every CPU's busy time, other people's work included, and holds the kernel's broadcast of the events (a workqueue).",
    '',
    '| round | connections/s without / with | closes/s | events counted / closed | lost | exporter CPU (idle) | per 1k closes/s | generator CPU without / with | machine busy without / with |',
    '|---:|---|---:|---|---:|---|---:|---|---|',
  );
  rows.forEach((r, i) => {
    lines.push(
      `| ${i + 1} | ${fmtInt(r.withoutRate)} / ${fmtInt(r.connectionsPerSecond)} | ${fmtInt(r.closesPerSecond)} | ${fmtInt(r.counted)} / ${fmtInt(r.events)} | ${fmtInt(r.lost)} | ${pct(r.exporterCores)} (${pct(r.idleCores)}) | ${pct(r.perThousandCloses)} | ${r.generatorWithout.toFixed(2)} / ${r.generatorWith.toFixed(2)} | ${r.machineWithout.toFixed(2)} / ${r.machineWith.toFixed(2)} |`,
    );
  });
  const failed = rows.reduce((sum, r) => sum + r.failed, 0);
  if (failed > 0) lines.push('', `${fmtInt(failed)} connects failed in all (counted neither way).`);
  return `${lines.join('\n')}\n`;
}

module.exports = { report };
