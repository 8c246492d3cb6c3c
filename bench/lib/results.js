// bench/RESULTS.md holds the latest run only; bench/RESULTS-history.md
// holds every earlier run, newest first. In both files the text before the
// first `## ` heading is a preamble that stays put; in RESULTS.md everything
// from that heading on is the latest run (the generated report, and any
// notes written about it later under `###` headings).
//
// Recording a run moves that block to the top of the history (after its
// preamble) and writes the new run in its place. The history is written
// first: if the second write never happens, the old run is in both files
// rather than in neither.
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

/** Puts `run` (Markdown that starts with a "## " heading) at the top of RESULTS.md. */
function record(resultsFile, historyFile, run) {
  if (!run.startsWith('## ')) throw new Error('a recorded run must start with a "## " heading');
  const [preamble, latest] = splitAtFirstRun(readOr(resultsFile, RESULTS_PREAMBLE));
  if (latest.trim()) {
    const [historyPreamble, older] = splitAtFirstRun(readOr(historyFile, HISTORY_PREAMBLE));
    const history = withBlankLine(historyPreamble) + withBlankLine(latest) + older;
    writeAtomically(historyFile, `${history.trimEnd()}\n`);
  }
  writeAtomically(resultsFile, `${withBlankLine(preamble)}${run.trimEnd()}\n`);
}

module.exports = { record, splitAtFirstRun };
