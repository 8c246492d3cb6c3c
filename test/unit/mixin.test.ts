// The monitoring mixin (grafana/mixin): the committed dashboards, rules,
// promtool tests and PrometheusRule are what it generates; its lint finds
// nothing in them and does find each kind of mistake; every incident has
// its alert with the definition's name, severity and remedy; the config
// moves the selector, thresholds and names everywhere at once.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import YAML from 'yaml';
import { INCIDENTS } from '../../src/incidents/definitions';
import { DEFAULT_CONFIG, mixinConfig } from '../../grafana/mixin/config';
import { generate } from '../../grafana/mixin/generate';
import { lintOutputs } from '../../grafana/mixin/lint';
import { type LintDashboard, lintDashboard } from '../../grafana/mixin/lint/dashboards';
import { lintRules, oneSentence } from '../../grafana/mixin/lint/rules';
import { parsePromql } from '../../grafana/mixin/lint/promql';
import { humanize, humanizePercentage, render } from '../../grafana/mixin/templates';
import type { AlertingRule, RuleFile } from '../../grafana/mixin/rules';
import { ROOT } from '../helpers/paths';

const GRAFANA = path.join(ROOT, 'grafana');
const files = generate(DEFAULT_CONFIG);
const rules = YAML.parse(files.get('alerts.yml')!) as RuleFile;
const alerts = rules.groups.flatMap((g) => g.rules.filter((r): r is AlertingRule => 'alert' in r));

t.test('the committed files are what npm run mixin generates', async (t) => {
  for (const [relative, content] of files) {
    const committed = readFileSync(path.join(GRAFANA, relative), 'utf8');
    t.ok(committed === content, `grafana/${relative} is current (else: npm run mixin)`);
  }
  const dashboards = readdirSync(path.join(GRAFANA, 'dashboards')).sort();
  t.same(
    dashboards,
    ['connections.json', 'listeners.json', 'namespaces.json', 'overview.json'],
    'no stray dashboards',
  );
});

t.test('the PrometheusRule carries the rule file', async (t) => {
  const resource = YAML.parse(files.get('prometheusrule.yml')!) as {
    apiVersion: string;
    kind: string;
    metadata: { name: string; labels: Record<string, string> };
    spec: unknown;
  };
  t.equal(resource.apiVersion, 'monitoring.coreos.com/v1');
  t.equal(resource.kind, 'PrometheusRule');
  t.equal(resource.metadata.name, DEFAULT_CONFIG.prometheusRule.name);
  t.same(resource.spec, rules, 'the same groups as grafana/alerts.yml');
});

t.test('the lint finds nothing in what the mixin generates', async (t) => {
  t.same(lintOutputs(files, DEFAULT_CONFIG.selector), []);
});

t.test('one alert per incident, named, graded and remedied by its definition', async (t) => {
  t.same(
    alerts.map((a) => a.labels.incident).filter(Boolean),
    INCIDENTS.map((d) => d.incident),
  );
  for (const d of INCIDENTS) {
    const alert = alerts.find((a) => a.labels.incident === d.incident)!;
    t.equal(alert.alert, d.alert, `${d.incident}: ${d.alert}`);
    t.equal(alert.labels.severity, d.severity, `${d.alert}: severity of the definition`);
    t.equal(alert.for, d.alertFor, `${d.alert}: for: of the definition`);
    t.ok(alert.annotations.description.endsWith(`Remedy: ${d.remedy}`), `${d.alert}: its remedy`);
  }
});

t.test('rules take the checks’ counters and thresholds', async (t) => {
  const expr = (name: string) => alerts.find((a) => a.alert === name)!.expr;
  // The example: any SyncookiesSent rise, as in the check; Failed is evidence.
  t.match(expr('SockdiagSynCookies'), /field="SyncookiesSent"\}\[1m\]\) > 0$/);
  t.notMatch(expr('SockdiagPawsRejects'), /TCPACKSkippedPAWS/);
  t.match(expr('SockdiagSynQueueOverflow'), />= 0\.9$/m);
  t.match(expr('SockdiagEphemeralPortExhaustion'), />= 0\.8$/);
  t.match(expr('SockdiagKeepaliveGhosts'), /le=~"3600\(\\\\\.0\)\?"/);
  t.match(expr('SockdiagResets'), />= 10$/m);
  t.match(expr('SockdiagConnectionChurn'), />= 0\.1\)$/m);
});

t.test('the config moves the selector, thresholds, window and names', async (t) => {
  const config = mixinConfig({
    selector: 'job="edge-sockets"',
    thresholds: { resetsRate: 25, synBacklogRatio: 0.75, window: 120, keepaliveIdle: 7200 },
    alertFor: { SockdiagResets: '10m' },
    dashboards: { uidPrefix: 'edge', titlePrefix: 'Edge / ' },
  });
  const out = generate(config);
  t.same(lintOutputs(out, config.selector), [], 'lint-clean with its own selector');
  const text = out.get('alerts.yml')!;
  t.notMatch(text, /job="sockdiag"/, 'no series of the default job');
  t.match(text, /job="edge-sockets"/);
  t.match(text, />= 25\n/, 'resetsRate');
  t.match(text, />= 0\.75\n/, 'synBacklogRatio');
  t.match(text, /\[2m\]/, 'the window as the range');
  t.notMatch(text, /\[1m\]/);
  t.match(text, /le=~"7200/, 'keepaliveIdle as the bucket bound');
  t.match(text, /alert: SockdiagResets\n {8}expr: [^]*?for: 10m/, 'for: override');
  const overview = JSON.parse(out.get('dashboards/overview.json')!) as LintDashboard;
  t.equal(overview.uid, 'edge-overview');
  t.equal(overview.title, 'Edge / Overview');
  t.match(JSON.stringify(overview), /edge-sockets/, 'the job variable lists the selected jobs');
  t.throws(() => generate(mixinConfig({ thresholds: { window: 0.5 } })), /whole number of seconds/);
});

t.test('the promtool tests cover every alert, firing and quiet', async (t) => {
  const tests = YAML.parse(files.get('tests/alerts.test.yml')!) as {
    tests: { alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[] }[];
  };
  const firing = new Set<string>();
  const quiet = new Set<string>();
  for (const test of tests.tests) {
    for (const check of test.alert_rule_test ?? []) {
      (check.exp_alerts.length > 0 ? firing : quiet).add(check.alertname);
    }
  }
  for (const alert of alerts) {
    t.ok(firing.has(alert.alert), `${alert.alert} fires`);
    t.ok(quiet.has(alert.alert), `${alert.alert} stays quiet`);
  }
});

t.test('the dashboard lint finds each kind of mistake', async (t) => {
  const good = JSON.parse(files.get('dashboards/listeners.json')!) as LintDashboard;
  const broken = (edit: (d: LintDashboard & Record<string, unknown>) => void) => {
    const d = structuredClone(good) as LintDashboard & Record<string, unknown>;
    edit(d);
    return lintDashboard(d, 'x.json').join('\n');
  };
  const panel = (d: LintDashboard) => d.panels![1]!;
  const target = (d: LintDashboard) => panel(d).targets![0]!;
  t.equal(
    broken(() => {}),
    '',
    'the generated one passes',
  );
  t.match(
    broken((d) => delete d.uid),
    /no stable uid/,
  );
  t.match(
    broken((d) => (d.title = '')),
    /no title/,
  );
  t.match(
    broken((d) => (d.id = 7)),
    /database id/,
  );
  t.match(
    broken((d) => d.templating!.list!.splice(0, 1)),
    /no datasource variable/,
  );
  t.match(
    broken((d) => d.templating!.list!.splice(2, 1)),
    /no instance query variable/,
  );
  t.match(
    broken((d) => (panel(d).datasource = { type: 'prometheus', uid: 'abc' })),
    /does not use \$datasource/,
  );
  t.match(
    broken((d) => delete panel(d).fieldConfig!.defaults!.unit),
    /no unit/,
  );
  t.match(
    broken((d) => (panel(d).description = 'short')),
    /description is not one line/,
  );
  t.match(
    broken((d) => (panel(d).title = ' ')),
    /no title/,
  );
  t.match(
    broken((d) => (target(d).expr = 'sockdiag_listener_sockets{job=~"$job"}')),
    /not filtered by instance/,
  );
  t.match(
    broken((d) => (target(d).expr = 'sockdiag_listener_sockets{instance=~"$instance"}')),
    /not filtered by job/,
  );
  t.match(
    broken(
      (d) => (target(d).expr = 'sockdiag_listener_sockets{job=~"$job", instance=~"$instance"}'),
    ),
    /not filtered by netns=~"\$netns"/,
    'a dashboard with the netns variable filters every query by it',
  );
  const netns = (d: LintDashboard) => d.templating!.list!.find((v) => v.name === 'netns')!;
  t.match(
    broken((d) => (netns(d).multi = true)),
    /netns is not a single-value query variable without All/,
    'Grafana would escape its regular expressions',
  );
  t.match(
    broken((d) => (netns(d).current = { value: '.*' })),
    /does not default to the host/,
  );
  const rate = 'rate(sockdiag_listener_drops_total{job=~"$job", instance=~"$instance"}[5m])';
  t.match(
    broken((d) => (target(d).expr = rate)),
    /rate\(\) over 5m, not \$__rate_interval/,
  );
  t.match(
    broken(
      (d) => (target(d).expr = 'sockdiag_listener_drops_total{job=~"$job", instance=~"$instance"}'),
    ),
    /counter sockdiag_listener_drops_total outside rate/,
  );
  t.match(
    broken((d) => (target(d).expr = 'sum(x{job=~"$job", instance=~"$instance"}')),
    /syntax error/,
  );
  t.match(
    broken((d) => (target(d).expr = 'x{job=~"$job", instance=~"$nope"}')),
    /undefined \$nope/,
  );
  t.match(
    broken((d) => (panel(d).gridPos = { x: 20, y: 0, w: 12, h: 8 })),
    /outside the 24-column grid/,
  );
  t.match(
    broken((d) => (panel(d).gridPos = { x: 0, y: 0, w: 12, h: 8 })),
    /overlaps/,
  );
  t.match(
    broken((d) => (panel(d).id = 1)),
    /ids are not unique/,
  );
});

t.test('the rule lint finds each kind of mistake', async (t) => {
  const broken = (edit: (rule: AlertingRule) => void) => {
    const file = structuredClone(rules);
    edit(file.groups[1]!.rules[0] as AlertingRule);
    return lintRules(file, DEFAULT_CONFIG.selector).join('\n');
  };
  t.equal(
    broken(() => {}),
    '',
  );
  t.match(
    broken((r) => (r.alert = 'sockdiag_accept')),
    /not CamelCase/,
  );
  t.match(
    broken((r) => (r.labels.severity = 'page')),
    /not info, warning or critical/,
  );
  t.match(
    broken((r) => (r.for = '')),
    /no for:/,
  );
  t.match(
    broken((r) => (r.annotations.summary = 'Full. Very full.')),
    /not one sentence/,
  );
  t.match(
    broken((r) => (r.annotations.description = 'Full.')),
    /not templated/,
  );
  t.match(
    broken((r) => (r.annotations.description = '{{ $labels.x | title }}')),
    /not one templates.ts renders/,
  );
  t.match(
    broken((r) => (r.expr = 'sockdiag_listener_sockets > 0')),
    /without the selector job="sockdiag"/,
  );
  t.match(
    broken((r) => (r.expr = 'sockdiag_netstat_total{job="sockdiag"} > 0')),
    /counter .* outside/,
  );
  t.match(
    broken((r) => (r.expr = 'rate(x{job="sockdiag"}[1m]')),
    /syntax error/,
  );
  const file = structuredClone(rules);
  (file.groups[0]!.rules[0] as { record: string }).record = 'fill_ratio';
  t.match(lintRules(file, DEFAULT_CONFIG.selector).join('\n'), /level:metric:operations/);
});

t.test('PromQL parsing: selectors, ranges, the function they feed', async (t) => {
  const parsed = parsePromql(
    'sum by (x) (rate(a_total{job=~"$job", f=~"A|B"}[$__rate_interval])) / b',
  );
  t.same(parsed.errors, []);
  t.same(
    parsed.selectors.map((s) => [
      s.metric,
      s.range,
      s.fn,
      s.matchers.map((m) => `${m.label}${m.op}${m.value}`),
    ]),
    [
      ['a_total', '$__rate_interval', 'rate', ['job=~$job', 'f=~A|B']],
      ['b', null, null, []],
    ],
  );
  t.ok(parsePromql('sum(x').errors.length > 0, 'unbalanced');
  t.same(parsePromql('1 + 1').errors, ['names no series']);
});

t.test('templates render as Prometheus does', async (t) => {
  t.equal(humanize(20), '20');
  t.equal(humanize(1234), '1.234k');
  t.equal(humanize(0.5), '500m');
  t.equal(humanize(0), '0');
  t.equal(humanizePercentage(0.85), '85%');
  t.equal(render('{{ printf "%.2f" $value }}', {}, 0.2), '0.20');
  const tpl =
    'on {{ $labels.instance }}{{ if $labels.port }} at :{{ $labels.port }}{{ else }} (host){{ end }}.';
  t.equal(render(tpl, { instance: 'a', port: '80' }, 1), 'on a at :80.');
  t.equal(render(tpl, { instance: 'a' }, 1), 'on a (host).');
  t.throws(() => render('{{ if $labels.a }}x', {}, 1), /without \{\{ end \}\}/);
  t.ok(oneSentence('Accept queue overflow on {{ $labels.instance }}.'));
  t.notOk(oneSentence('No full stop'));
});
