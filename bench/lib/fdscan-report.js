// The fd-scan benchmark's report (lib/fdscan.js): the scan's calls against
// its budget, and the goal of the owners issue with its verdict.
'use strict';

const ms = (value) => value.toFixed(1);
const max = (values) => values.reduce((a, b) => Math.max(a, b), 0);
const sum = (values) => values.reduce((a, b) => a + b, 0);

/** A slice of the scan may overrun the budget by one slice of reading (a few ms). */
const SLACK_MS = 10;

function fdScanReport(result, header) {
  const { cold, hinted, cached, budgetMs } = result;
  const worstCall = max(cold.map((c) => c.ms));
  const worstStall = max([...cold, hinted].map((c) => c.stallMs));
  const found = cold.at(-1)?.found ?? false;
  const within = worstCall <= budgetMs + SLACK_MS;
  const sorted = cached.map((c) => c.ms).sort((a, b) => a - b);
  const lines = [
    `## Owners: the fd scan with ${result.descriptors.toLocaleString('en')} descriptors open (${header.date})`,
    '',
    `Machine: ${header.machine}. Code measured: ${header.code}. \`node bench/main.js --fd-scan ${result.fds}\`: ${result.holders} python3 holders keep ${result.fds.toLocaleString('en')} socketpair descriptors open on the host (${result.processes} processes, ${result.descriptors.toLocaleString('en')} descriptors in all); a listener started before them has the lowest pid, so a pass that reads the newest processes first finds it last. The scan's budget: ${budgetMs} ms per second, shared by every caller; one call a second, as scrapes would.`,
    '',
    '| goal | target | measured | verdict |',
    '|---|---|---|---|',
    `| each scan call within its budget | <= ${budgetMs} ms (+${SLACK_MS} ms: one slice's overrun) | longest ${ms(worstCall)} ms over ${cold.length} calls | ${within ? 'pass' : 'miss'} |`,
    `| the owner found without the hint | yes, within ${cold.length} calls | ${found ? `found on call ${cold.length}, ${ms(sum(cold.map((c) => c.ms)))} ms of scanning in all` : 'not found'} | ${found ? 'pass' : 'miss'} |`,
    `| event loop's longest stall during a call | a slice (4 ms) plus one read | ${ms(worstStall)} ms | ${worstStall <= SLACK_MS ? 'pass' : 'miss'} |`,
    '',
    '| case | calls | wall ms per call (each) | found |',
    '|---|---:|---|---|',
    `| cold, no hint | ${cold.length} | ${cold.map((c) => ms(c.ms)).join(', ')} | ${found ? 'yes' : 'no'} |`,
    `| hinted by the listener's cgroup (cgroup.procs) | 1 | ${ms(hinted.ms)} | ${hinted.found ? 'yes' : 'no'} |`,
    `| cached (owner known), median of ${cached.length} | ${cached.length} | ${sorted[sorted.length >> 1].toFixed(3)} | yes |`,
    '',
  ];
  return lines.join('\n');
}

module.exports = { fdScanReport };
