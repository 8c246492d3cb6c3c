// bench/RESULTS.md holds the latest run of each case only (the socket
// tables; the closed connections, `--closed`); bench/RESULTS-history.md
// holds every earlier run, newest first. In both files the text before the
// first `## ` heading is a preamble that stays put; in RESULTS.md each `## `
// heading starts a case's latest run (the generated report, and any notes
// written about it later under `###` headings), which a case's heading
// tells: "## Closed connections: ..." for --closed, anything else for the
// tables.
//
// Recording a run moves the latest run of its case to the top of the
// history (after its preamble) and writes the new run in its place; the
// other case's run stays. The history is written first: if the second
// write never happens, the old run is in both files rather than in neither.
'use strict';

const fs = require('node:fs');

const RESULTS_PREAMBLE = `# Benchmark results: the latest run

Written by \`node bench/main.js\` (see bench/README.md). Recording a run puts
it here and moves the run that was here to the top of
[RESULTS-history.md](RESULTS-history.md), which keeps every earlier run,
newest first, with the notes written about it.

The machine may be shared with other work: the harness waits for the CPUs
to be under 25 % busy before each round, but a ratio within about 5 % of a
goal can flip from one run to the next.
`;

const HISTORY_PREAMBLE = `# Benchmark results: earlier runs, newest first

Moved here from [RESULTS.md](RESULTS.md) by \`node bench/main.js\` each time
it records a newer run.
`;

/** [preamble, rest]: the split at the first line that starts with "## ". */
function splitAtFirstRun(text) {
  const match = /^## /m.exec(text);
  if (!match) return [text, ''];
  return [text.slice(0, match.index), text.slice(match.index)];
}

const withBlankLine = (text) => `${text.trimEnd()}\n\n`;

function writeAtomically(file, text) {
  const temporary = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(temporary, text);
  fs.renameSync(temporary, file);
}

function readOr(file, fallback) {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (error) {
    if (error.code === 'ENOENT') return fallback;
    throw error;
  }
}

/** Which case a run's block belongs to, from its heading. */
function caseOf(block) {
  if (block.startsWith('## Closed connections')) return 'closed';
  if (block.startsWith('## Namespaces')) return 'namespaces';
  if (block.startsWith('## Owners')) return 'owners';
  return 'tables';
}

/** The blocks after the preamble, one per `## ` heading. */
function splitRuns(text) {
  const [preamble, rest] = splitAtFirstRun(text);
  const blocks = rest ? rest.split(/^(?=## )/m).filter((b) => b.trim()) : [];
  return [preamble, blocks];
}

/** Puts `run` (Markdown that starts with a "## " heading) in RESULTS.md in place of its case's. */
function record(resultsFile, historyFile, run) {
  if (!run.startsWith('## ')) throw new Error('a recorded run must start with a "## " heading');
  const kind = caseOf(run);
  const [preamble, blocks] = splitRuns(readOr(resultsFile, RESULTS_PREAMBLE));
  const replaced = blocks.filter((b) => caseOf(b) === kind);
  if (replaced.length > 0) {
    const [historyPreamble, older] = splitAtFirstRun(readOr(historyFile, HISTORY_PREAMBLE));
    const moved = replaced.map(withBlankLine).join('');
    const history = withBlankLine(historyPreamble) + moved + older;
    writeAtomically(historyFile, `${history.trimEnd()}\n`);
  }
  // The tables' run first, then the closed connections'.
  const kept = blocks.filter((b) => caseOf(b) !== kind);
  const runs = [...kept, run].sort(
    (a, b) => Number(caseOf(a) === 'closed') - Number(caseOf(b) === 'closed'),
  );
  writeAtomically(
    resultsFile,
    `${withBlankLine(preamble)}${runs.map(withBlankLine).join('').trimEnd()}\n`,
  );
}

module.exports = { record, splitAtFirstRun };
