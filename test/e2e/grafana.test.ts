// The dashboards and rules against what the exporter really serves. Their
// structure (uids, variables, units, descriptions, matchers, rate
// intervals, layout) is the mixin's lint, run by test/unit/mixin.test.ts;
// here a live scrape with --collector.peers, --collector.netns and
// --collector.closed on must serve every metric they
// name (or the rules record it), and the lint's one assumption holds: the
// counter families are exactly those named *_total.
import { readFileSync } from 'node:fs';
import t from 'tap';
import YAML from 'yaml';
import { dashboardQueries } from '../../grafana/mixin/lint/dashboards';
import { isCounter, parsePromql } from '../../grafana/mixin/lint/promql';
import { startExporter } from '../helpers/exporter';
import { loadDashboards, loadRules, PROVISIONING_FILE, recordedNames } from '../helpers/grafana';
import { testNamespace } from '../helpers/namespaces';
import { pollUntil, servedNames } from '../helpers/prometheus';
import { unavailable } from '../helpers/requirements';

const metricNames = (expr: string) =>
  [...new Set(parsePromql(expr).selectors.map((s) => s.metric))].filter(Boolean);

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
  // The Namespaces dashboard needs the netns collector: one more namespace,
  // with a listener, and only that one (not the machine's others).
  const pod = testNamespace(t, { prefix: 'sdgpod' });
  await pod.holder.send({ op: 'listen', port: 8081, backlog: 4 });
  const exporter = await startExporter(ns, [
    '--collector.peers',
    '--collector.netns',
    `--collector.netns.include=^${pod.ns.name}$`,
    '--collector.closed',
  ]);
  stopFirst(exporter);
  // Connections that close once the exporter listens for their destroy
  // events: the closed collector's histograms get their series.
  await holder.send({ op: 'timewait', port: 7001, count: 3 });
  let response = exporter.get('/metrics');
  await pollUntil(async () => {
    response = exporter.get('/metrics');
    return response.body.includes('sockdiag_closed_connection_received_bytes_bucket{');
  }, 10_000);
  t.equal(response.status, 200);
  const served = servedNames(response.body);
  t.ok(
    served.has('sockdiag_closed_connection_min_rtt_seconds_bucket'),
    'the closed collector is on',
  );
  t.ok(served.has('sockdiag_peer_sockets'), 'the peers collector is on');
  t.ok(served.has('sockdiag_netns_info'), 'the netns collector is on');

  const counters = [...response.body.matchAll(/^# TYPE (\S+) counter$/gm)].map((m) => m[1]!);
  t.ok(counters.length >= 2, `${counters.length} counter families`);
  for (const name of counters) t.ok(isCounter(name), `counter ${name} ends in _total`);
  const types = new Map(
    [...response.body.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1]!, m[2]!]),
  );
  for (const [name, type] of types) {
    if (isCounter(name)) t.equal(type, 'counter', `${name} is a counter`);
  }

  const rules = loadRules();
  const recorded = recordedNames(rules);
  for (const name of recorded) t.notOk(served.has(name), `${name} is recorded, not served`);
  const known = new Set([...served, ...recorded]);

  let checked = 0;
  for (const { file, dashboard } of loadDashboards()) {
    const unknown: string[] = [];
    for (const query of dashboardQueries(dashboard, file)) {
      for (const name of metricNames(query.expr)) {
        checked++;
        if (!known.has(name)) unknown.push(`${query.where}: ${name}`);
      }
    }
    t.same(unknown, [], `${file}: every metric is served or recorded by grafana/alerts.yml`);
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
