// The README's metrics reference is true: every metric the exporter serves
// is documented with its type and labels, and nothing documented is gone.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import type { NamespaceHandle } from '../../src/diag';
import { identityFamilies } from '../../src/netns/service';
import type { MetricFamily } from '../../src/collectors/collector';
import { collectorTable } from '../../src/cli/flags';
import { COLLECTORS } from '../../src/collectors';
import { ERROR_CODES, errorTable } from '../../src/errors';
import { incidentTable } from '../../src/incidents/definitions';
import { createCollector, scrapeContext } from '../helpers/context';
import { cannedClosedFamilies } from '../helpers/destroy-events';
import { ROOT } from '../helpers/paths';

interface Row {
  name: string;
  type: string;
  labels: string[];
}

function documented(): Row[] {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const rows: Row[] = [];
  for (const line of readme.split('\n')) {
    const match = /^\| `(sockdiag_[^`]+)` \| (\w+) \|([^|]*)\|/.exec(line);
    if (!match) continue;
    const labels = match[3]!
      .split(',')
      .map((label) => label.trim())
      .filter(Boolean);
    rows.push({ name: match[1]!, type: match[2]!, labels: labels.sort() });
  }
  return rows;
}

/** Families of the golden scrape: name -> type and label names. */
function golden(): Map<string, Row> {
  const text = readFileSync(path.join(ROOT, 'test', 'golden', 'metrics.txt'), 'utf8');
  const rows = new Map<string, Row>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) rows.set(type[1]!, { name: type[1]!, type: type[2]!, labels: [] });
    const sample = /^([a-zA-Z_:]+)\{([^}]*)\}/.exec(line);
    if (!sample) continue;
    const name = sample[1]!.replace(/_(bucket|sum|count)$/, '');
    const row = rows.get(sample[1]!) ?? rows.get(name);
    if (!row) continue;
    for (const [, label] of sample[2]!.matchAll(/(\w+)="/g)) {
      if (label !== 'le' && !row.labels.includes(label!)) row.labels.push(label!);
    }
  }
  for (const row of rows.values()) row.labels.sort();
  return rows;
}

async function collectorFamilies(name: string, procfs: string): Promise<MetricFamily[]> {
  const definition = COLLECTORS.find((c) => c.name === name)!;
  return createCollector(definition).collect(scrapeContext(procfs));
}

function matches(row: Row, name: string): boolean {
  if (!row.name.includes('<')) return row.name === name;
  const pattern = row.name.replace(/<[^>]+>/g, '[A-Za-z0-9]+');
  return new RegExp(`^${pattern}(_bytes)?$`).test(name);
}

t.test('README documents every served metric, and only those', async (t) => {
  const rows = documented();
  t.ok(rows.length > 20, 'the reference table parses');
  const served = golden();
  const fixtures = path.join(ROOT, 'test', 'fixtures', 'procfs', 'linux-6.18');
  for (const collector of ['netstat', 'sockstat', 'sysctl']) {
    for (const family of await collectorFamilies(collector, fixtures)) {
      const labels = [...new Set(family.values.flatMap((v) => Object.keys(v.labels ?? {})))].sort();
      served.set(family.name, { name: family.name, type: family.type, labels });
    }
  }
  for (const family of await collectorFamilies('peers', '/proc')) {
    served.set(family.name, { name: family.name, type: family.type, labels: [] });
  }
  // The netns collector is off in the golden scrape: its own families from one namespace.
  const entry = { inode: 4026532000, name: 'cni-1', path: '/run/netns/cni-1', identity: {} };
  const tracked = {
    entry,
    label: 'cni-1',
    handle: {} as NamespaceHandle,
    privateHash: false,
    full: false,
  };
  const refresh = {
    tracked: [tracked],
    discovered: 1,
    filtered: 0,
    beyondLimit: 0,
    unreadable: 0,
    withoutClosed: 0,
  };
  for (const family of identityFamilies(refresh)) {
    const labels = [...new Set(family.values.flatMap((v) => Object.keys(v.labels ?? {})))].sort();
    served.set(family.name, { name: family.name, type: family.type, labels });
  }
  // Off by default, so not in the golden scrape: its families over canned events.
  for (const family of await cannedClosedFamilies()) {
    const names = family.values.flatMap((v) => Object.keys(v.labels ?? {}));
    const labels = [...new Set(names)].filter((l) => l !== 'le').sort();
    served.set(family.name, { name: family.name, type: family.type, labels });
  }
  for (const [name, actual] of served) {
    if (!name.startsWith('sockdiag_')) continue;
    const row = rows.find((r) => matches(r, name));
    t.ok(row, `${name} is documented`);
    t.equal(row?.type, actual.type, `${name} type`);
    if (row && !row.name.includes('<') && actual.labels.length > 0) {
      t.same(row.labels, actual.labels, `${name} labels`);
    }
  }
  for (const row of rows) {
    t.ok(
      [...served.keys()].some((name) => matches(row, name)),
      `${row.name} (documented) is served`,
    );
  }
});

t.test('the generated tables are current (npm run docs)', async (t) => {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const section = (name: string) => {
    const match = new RegExp(`<!-- ${name}:begin -->\\n([\\s\\S]*?)\\n<!-- ${name}:end -->`).exec(
      readme,
    );
    return match?.[1];
  };
  t.equal(section('collectors'), collectorTable(COLLECTORS), 'collectors and their options');
  t.equal(section('errors'), errorTable(), 'every error code, nothing else');
  t.equal(section('incidents'), incidentTable(), 'every incident, what it means and what not');
  for (const code of Object.keys(ERROR_CODES)) t.match(readme, `\`${code}\``);
});
