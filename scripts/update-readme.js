#!/usr/bin/env node
// Rewrites the README's generated tables (between <!-- NAME:begin --> and
// <!-- NAME:end -->) from the code that defines them: the collectors and
// their options, and the error catalogue. `npm run docs` runs it after a
// build; test/unit/readme.test.ts fails when the README is behind.
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const { COLLECTORS } = require(path.join(root, 'dist', 'src', 'collectors'));
const { collectorTable } = require(path.join(root, 'dist', 'src', 'cli', 'flags'));
const { errorTable } = require(path.join(root, 'dist', 'src', 'errors'));
const { incidentTable } = require(path.join(root, 'dist', 'src', 'incidents', 'definitions'));

const TABLES = {
  collectors: collectorTable(COLLECTORS),
  errors: errorTable(),
  incidents: incidentTable(),
};

function replaceSection(text, name, body) {
  const begin = `<!-- ${name}:begin -->`;
  const end = `<!-- ${name}:end -->`;
  const from = text.indexOf(begin);
  const to = text.indexOf(end);
  if (from < 0 || to < from) throw new Error(`README.md has no ${begin} ... ${end} section`);
  return `${text.slice(0, from + begin.length)}\n${body}\n${text.slice(to)}`;
}

const file = path.join(root, 'README.md');
let text = fs.readFileSync(file, 'utf8');
for (const [name, body] of Object.entries(TABLES)) text = replaceSection(text, name, body);
fs.writeFileSync(file, text);
