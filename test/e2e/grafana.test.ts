// The Grafana dashboards under grafana/dashboards/ as importable JSON: their
// structure (unique panel ids, units, one-line descriptions, layout), that
// every query goes through the datasource variable and filters by the job
// and instance variables, and that every metric they (and the rules) name is
// one the exporter serves, against a live scrape with --collector.peers on.
import { readFileSync } from 'node:fs';
import t from 'tap';
import { unavailable } from '../helpers/requirements';
import YAML from 'yaml';
import { startExporter } from '../helpers/exporter';
import { testNamespace } from '../helpers/namespaces';
import {
  dashboardQueries,
  loadDashboards,
  loadRules,
  PROVISIONING_FILE,
  panelsOf,
  recordedNames,
  variableQuery,
} from '../helpers/grafana';
import { servedNames } from '../helpers/prometheus';
import { metricNames, selectors } from '../helpers/promql';

const DATASOURCE = '${datasource}';
const PANEL_TYPES = new Set(['timeseries', 'stat', 'gauge', 'state-timeline', 'heatmap', 'table']);
/** Variables Grafana defines itself. */
const BUILTIN_VARIABLES = new Set(['__rate_interval', '__interval', '__range']);

const dashboards = loadDashboards();

t.test('three dashboards: overview, listeners, connections', async (t) => {
  t.same(
    dashboards.map((d) => d.file),
    ['connections.json', 'listeners.json', 'overview.json'],
  );
  const uids = dashboards.map((d) => d.dashboard.uid);
  t.equal(new Set(uids).size, uids.length, 'unique dashboard uids');
});

for (const loaded of dashboards) {
  const { file, dashboard } = loaded;
  t.test(file, async (t) => {
    t.test('importable as it is', async (t) => {
      t.equal(dashboard.id, null, 'no database id: imports as a new dashboard');
      t.match(dashboard.uid, /^sockdiag-[a-z]+$/, 'stable uid');
      t.match(dashboard.title, /^sockdiag \/ /, 'title');
      t.type(dashboard.schemaVersion, 'number');
      t.ok(dashboard.tags?.includes('sockdiag'), 'tagged sockdiag (the dashboards link by tag)');
      t.notOk(
        JSON.stringify(dashboard).includes('__inputs'),
        'no __inputs: the datasource variable picks the data source',
      );
    });

    t.test('datasource, job and instance variables', async (t) => {
      const vars = new Map(dashboard.templating.list.map((v) => [v.name, v]));
      const ds = vars.get('datasource');
      t.equal(ds?.type, 'datasource', 'a datasource variable');
      t.equal(ds?.query, 'prometheus', 'of Prometheus data sources');
      for (const name of ['job', 'instance']) {
        const v = vars.get(name);
        t.equal(v?.type, 'query', `${name} is a query variable`);
        t.same(
          v?.datasource,
          { type: 'prometheus', uid: DATASOURCE },
          `${name} queries $datasource`,
        );
        t.match(variableQuery(v!), new RegExp(`^label_values\\(.*, ${name}\\)$`), `${name} query`);
      }
      t.match(variableQuery(vars.get('instance')!), /job=~"\$job"/, 'instance follows job');
      for (const v of dashboard.templating.list) {
        if (v.type === 'query') {
          t.same(
            v.datasource,
            { type: 'prometheus', uid: DATASOURCE },
            `${v.name} uses $datasource`,
          );
        }
      }
    });

    const panels = panelsOf(dashboard);
    t.test('panels', async (t) => {
      const ids = panels.map((p) => p.id);
      t.ok(
        ids.every((id) => Number.isInteger(id) && id > 0),
        'panel ids are positive integers',
      );
      t.equal(new Set(ids).size, ids.length, 'panel ids are unique');
      for (const panel of panels) {
        const name = `panel ${panel.id} "${panel.title}"`;
        t.ok(PANEL_TYPES.has(panel.type), `${name}: known type ${panel.type}`);
        t.ok(panel.title?.trim(), `${name}: title`);
        const description = panel.description ?? '';
        t.ok(
          description.length >= 40 && description.length <= 240 && !/\n/.test(description),
          `${name}: a one-line description`,
        );
        const unit = panel.fieldConfig?.defaults?.unit;
        t.ok(typeof unit === 'string' && unit !== '', `${name}: unit (${unit})`);
        if (panel.type === 'heatmap') t.ok(panel.options?.yAxis?.unit, `${name}: y axis unit`);
        t.same(panel.datasource, { type: 'prometheus', uid: DATASOURCE }, `${name}: $datasource`);
        const targets = panel.targets ?? [];
        t.ok(targets.length > 0, `${name}: has queries`);
        const refIds = targets.map((target) => target.refId);
        t.equal(new Set(refIds).size, refIds.length, `${name}: unique refIds`);
        for (const target of targets) {
          t.same(
            target.datasource,
            { type: 'prometheus', uid: DATASOURCE },
            `${name} ${target.refId}: query uses $datasource`,
          );
        }
      }
    });

    t.test('every selector filters by $job and $instance', async (t) => {
      for (const query of dashboardQueries(loaded)) {
        if (query.where.includes('variable job')) continue; // lists the jobs
        const sels = selectors(query.expr);
        t.ok(sels.length > 0, `${query.where}: names a metric`);
        for (const sel of sels) {
          t.ok(sel.metric !== '', `${query.where}: selector has a metric name`);
          t.match(sel.matchers, /(^|, *)job=~"\$job"/, `${query.where}: ${sel.metric} by $job`);
          if (!query.where.includes('variable instance')) {
            t.match(
              sel.matchers,
              /(^|, *)instance=~"\$instance"/,
              `${query.where}: ${sel.metric} by $instance`,
            );
          }
        }
      }
    });

    t.test('only defined variables', async (t) => {
      const defined = new Set(dashboard.templating.list.map((v) => v.name));
      for (const query of dashboardQueries(loaded)) {
        for (const match of query.expr.matchAll(/\$\{?(\w+)\}?/g)) {
          const name = match[1]!;
          t.ok(defined.has(name) || BUILTIN_VARIABLES.has(name), `${query.where}: $${name}`);
        }
      }
    });

    t.test('layout: 24 columns, no overlaps', async (t) => {
      const cells = new Map<string, number>();
      for (const panel of panels) {
        const { x, y, w, h } = panel.gridPos;
        t.ok(w > 0 && h > 0 && x >= 0 && x + w <= 24, `panel ${panel.id} within the grid`);
        for (let row = y; row < y + h; row++) {
          for (let col = x; col < x + w; col++) {
            const key = `${row},${col}`;
            const other = cells.get(key);
            if (other !== undefined) {
              t.fail(`panel ${panel.id} overlaps panel ${other} at ${key}`);
              return;
            }
            cells.set(key, panel.id);
          }
        }
      }
    });
  });
}

t.test('provisioning file', async (t) => {
  const config = YAML.parse(readFileSync(PROVISIONING_FILE, 'utf8')) as {
    apiVersion: number;
    providers: { name: string; type: string; options: { path: string } }[];
  };
  t.equal(config.apiVersion, 1);
  t.equal(config.providers.length, 1);
  const provider = config.providers[0]!;
  t.equal(provider.type, 'file');
  t.match(provider.options.path, /^\//, 'an absolute dashboards path');
});

const skip = unavailable('namespaces');
t.test('every metric named is one the exporter serves', { skip }, async (t) => {
  const { ns, holder, stopFirst } = testNamespace(t, { prefix: 'sdgraf' });
  // Enough of a table for every family to have samples: a listener with a
  // connection waiting, TIME_WAIT toward a peer, and the scrape itself.
  const web = await holder.send({ op: 'listen', port: 8080, backlog: 4 });
  await holder.send({ op: 'connect', host: '127.0.0.1', port: web.port, count: 2 });
  await holder.send({ op: 'timewait', port: 7000, count: 3 });
  const exporter = await startExporter(ns, ['--collector.peers']);
  stopFirst(exporter);
  exporter.get('/metrics');
  const response = exporter.get('/metrics');
  t.equal(response.status, 200);
  const served = servedNames(response.body);
  t.ok(served.has('sockdiag_peer_sockets'), 'the peers collector is on');

  const rules = loadRules();
  const recorded = recordedNames(rules);
  for (const name of recorded) t.notOk(served.has(name), `${name} is recorded, not served`);
  const known = new Set([...served, ...recorded]);

  let checked = 0;
  for (const loaded of dashboards) {
    const unknown: string[] = [];
    for (const query of dashboardQueries(loaded)) {
      for (const name of metricNames(query.expr)) {
        checked++;
        if (!known.has(name)) unknown.push(`${query.where}: ${name}`);
      }
    }
    t.same(unknown, [], `${loaded.file}: every metric is served or recorded by grafana/alerts.yml`);
  }
  const unknownInRules: string[] = [];
  for (const group of rules.groups) {
    for (const rule of group.rules) {
      for (const name of metricNames(rule.expr)) {
        checked++;
        // A recording rule may build on another one, an alert on the raw series.
        const ok = served.has(name) || (rule.record !== undefined && recorded.has(name));
        if (!ok) unknownInRules.push(`${rule.record ?? rule.alert}: ${name}`);
      }
    }
  }
  t.same(unknownInRules, [], 'grafana/alerts.yml: alerts name served metrics only');
  t.ok(checked > 80, `${checked} metric references checked`);
});
