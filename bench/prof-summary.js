#!/usr/bin/env node
// Summarises a V8 .cpuprofile (from the harness's --profile, which preloads
// bench/lib/prof-hook.js, or from node --cpu-prof): where the main thread's
// time went, by function (self and inclusive) and by module (a package in
// node_modules, a file of dist/src, node core). The harness calls
// summarise() and format(); run on its own (--help), it reads a file, and
// --callers NAME lists who calls the functions named NAME, with their self
// time (e.g. --callers get: which hot loop reads a re-exported binding).
'use strict';

const fs = require('node:fs');

const SPECIAL = new Set(['(idle)', '(program)', '(garbage collector)', '(root)']);

function shortUrl(url) {
  if (!url) return '';
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) return url.slice(modules + '/node_modules/'.length);
  const dist = url.indexOf('/dist/');
  if (dist >= 0) return url.slice(dist + 1);
  return url.replace(/^file:\/\//, '');
}

function moduleOf(url) {
  if (!url) return '(native / VM)';
  if (url.startsWith('node:')) return 'node core';
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const parts = url.slice(modules + '/node_modules/'.length).split('/');
    return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
  }
  const dist = url.indexOf('/dist/');
  if (dist >= 0) return url.slice(dist + 1);
  return url;
}

function keyOf(node) {
  const { functionName, url, lineNumber } = node.callFrame;
  if (SPECIAL.has(functionName)) return functionName;
  const where = url ? ` ${shortUrl(url)}:${lineNumber + 1}` : ' (native)';
  return `${functionName || '(anonymous)'}${where}`;
}

function top(map, limit, busyMs) {
  return [...map.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([name, ms]) => ({
      name,
      ms: Math.round(ms * 10) / 10,
      pctOfBusy: Math.round((1000 * ms) / busyMs) / 10,
    }));
}

/** Self and inclusive time per function and per module, in ms of wall time. */
function summarise(profile, limit = 15) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map();
  for (const node of profile.nodes)
    for (const child of node.children ?? []) parent.set(child, node.id);

  // A sample lasts until the next one (as DevTools counts it).
  const stamps = [];
  let t = profile.startTime;
  for (const delta of profile.timeDeltas) stamps.push((t += delta));
  const self = new Map();
  const inclusive = new Map();
  const modules = new Map();
  const add = (map, key, ms) => map.set(key, (map.get(key) ?? 0) + ms);
  let idleMs = 0;
  let gcMs = 0;
  let programMs = 0;
  // Stretches without an (idle) sample: the event loop answered nothing
  // then, so the longest ones bound /healthz latency from below.
  const stretches = [];
  let stretch = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const ms = ((i + 1 < stamps.length ? stamps[i + 1] : profile.endTime) - stamps[i]) / 1000;
    const node = byId.get(profile.samples[i]);
    const name = node.callFrame.functionName;
    if (name === '(idle)') {
      idleMs += ms;
      if (stretch > 0) stretches.push(stretch);
      stretch = 0;
      continue;
    }
    stretch += ms;
    if (name === '(garbage collector)') gcMs += ms;
    if (name === '(program)') programMs += ms;
    add(self, keyOf(node), ms);
    add(modules, SPECIAL.has(name) ? name : moduleOf(node.callFrame.url), ms);
    const seen = new Set();
    for (let id = node.id; id !== undefined; id = parent.get(id)) {
      const key = keyOf(byId.get(id));
      if (key === '(root)' || seen.has(key)) continue;
      seen.add(key);
      add(inclusive, key, ms);
    }
  }
  if (stretch > 0) stretches.push(stretch);
  stretches.sort((a, b) => b - a);
  const windowMs = (profile.endTime - profile.startTime) / 1000;
  const busyMs = windowMs - idleMs;
  return {
    windowMs: Math.round(windowMs),
    idleMs: Math.round(idleMs),
    busyMs: Math.round(busyMs),
    gcMs: Math.round(gcMs),
    programMs: Math.round(programMs),
    longestBusyMs: stretches.slice(0, 5).map((ms) => Math.round(ms)),
    topSelf: top(self, limit, busyMs),
    topInclusive: top(inclusive, limit, busyMs),
    byModule: top(modules, limit, busyMs),
  };
}

function format(summary) {
  const lines = [
    `window ${summary.windowMs} ms: main thread busy ${summary.busyMs} ms, idle ${summary.idleMs} ms` +
      ` (waiting: kernel walk in the addon's worker, I/O), GC ${summary.gcMs} ms, (program) ${summary.programMs} ms`,
    `longest stretches without an idle sample (event loop blocked): ${summary.longestBusyMs.join(', ')} ms`,
    // Node-API functions share one V8 callback, and the profiler names such
    // native frames after one of them: seen as a "readNamespacesFiles
    // (native)" line far larger than that call measured alone (1 ms a
    // scrape), which held the time of every call into the addon.
    "an addon function's (native) self time may be that of every call into the addon, whichever it names",
  ];
  const table = (title, rows) => {
    lines.push('', `${title} (ms, % of busy)`);
    for (const row of rows)
      lines.push(
        `${row.ms.toFixed(1).padStart(9)} ${row.pctOfBusy.toFixed(1).padStart(5)}%  ${row.name}`,
      );
  };
  table('by module', summary.byModule);
  table('top self time', summary.topSelf);
  table('top inclusive time', summary.topInclusive);
  return `${lines.join('\n')}\n`;
}

/** Self time of functions named `name`, split by calling function. */
function callers(profile, name) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map();
  for (const node of profile.nodes)
    for (const child of node.children ?? []) parent.set(child, node.id);
  const interval =
    (profile.endTime - profile.startTime) / 1000 / Math.max(1, profile.samples.length);
  const result = new Map();
  for (const node of profile.nodes) {
    if (node.callFrame.functionName !== name || !node.hitCount) continue;
    const caller = byId.get(parent.get(node.id));
    const key = `${keyOf(node)}  <-  ${caller ? keyOf(caller) : '(none)'}`;
    result.set(key, (result.get(key) ?? 0) + node.hitCount * interval);
  }
  return [...result.entries()].sort((a, b) => b[1] - a[1]);
}

module.exports = { summarise, format, callers };

const COMMAND = {
  name: 'prof-summary',
  usage: 'node bench/prof-summary.js [options] FILE.cpuprofile',
  description: [
    'Where the main thread of a profiled process spent its time, by module and by',
    "function. The harness's --profile writes these files under bench/out/STAMP/.",
  ],
  positionals: { min: 1, max: 1 },
  options: {
    top: { kind: 'integer', min: 1, value: 'N', default: '15', help: 'rows per table' },
    json: { kind: 'boolean', help: 'print the summary as JSON' },
    callers: {
      kind: 'string',
      value: 'NAME',
      help: 'instead: who calls the functions named NAME, with their self time',
    },
    help: { kind: 'boolean', short: 'h', help: 'show this help' },
  },
};

function main() {
  const { parseOrExit } = require('./lib/options');
  const { values, positionals } = parseOrExit(COMMAND);
  const profile = JSON.parse(fs.readFileSync(positionals[0], 'utf8'));
  if (values.callers !== undefined) {
    for (const [key, ms] of callers(profile, values.callers))
      process.stdout.write(`${ms.toFixed(1).padStart(9)} ms  ${key}\n`);
    return;
  }
  const summary = summarise(profile, values.top);
  process.stdout.write(values.json ? `${JSON.stringify(summary, null, 1)}\n` : format(summary));
}

if (require.main === module) main();
