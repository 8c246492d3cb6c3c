// grafana/alerts.yml and the dashboards against a real Prometheus. promtool
// checks the rule file and deploy/prometheus.yml and runs the unit tests in
// grafana/tests/ (test/unit/mixin.test.ts checks they cover every alert,
// firing and quiet), and those the mixin generates for another config. Then
// Prometheus, inside a network namespace next to the exporter, scrapes it
// every second while a listener's accept queue, another's SYN queue and the
// TIME_WAIT table overflow: every panel query, recording rule and alert
// signal returns series, and the accept-queue alert (its `for:` cut to 0s)
// reaches `firing`, as do the SYN-queue, SYN-cookie and TIME_WAIT alerts.
// The netns collector scrapes a second namespace whose listener overflows
// as well: the Namespaces dashboard's queries return series, and the rules
// keep the host and the namespace apart (no many-to-many joins).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { testNamespace } from '../helpers/namespaces';
import { unavailable } from '../helpers/requirements';
import { mixinConfig } from '../../grafana/mixin/config';
import { generate } from '../../grafana/mixin/generate';
import { startExporter } from '../helpers/exporter';
import { dashboardQueries } from '../../grafana/mixin/lint/dashboards';
import {
  expandTemplate,
  loadDashboards,
  loadRules,
  RULE_TESTS_FILE,
  RULES_FILE,
  rulesWithFor,
} from '../helpers/grafana';
import {
  type Alert,
  JOB,
  PROMETHEUS_CONFIG,
  pollUntil,
  type QueryResult,
  startPrometheus,
} from '../helpers/prometheus';
import { alertSignals } from '../helpers/promql';
import { synFlood } from '../helpers/traffic';

const EXPORTER_PORT = 19561;
const TARGET = `127.0.0.1:${EXPORTER_PORT}`;

const rules = loadRules();
const alerts = rules.groups.flatMap((group) => group.rules.filter((rule) => rule.alert));
const records = rules.groups.flatMap((group) => group.rules.filter((rule) => rule.record));
const ruleCount = alerts.length + records.length;

function promtool(args: string[]): string {
  return execFileSync('promtool', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

t.test('promtool', { skip: unavailable('promtool') }, async (t) => {
  t.test('check rules', async (t) => {
    t.match(promtool(['check', 'rules', RULES_FILE]), `SUCCESS: ${ruleCount} rules found`);
  });
  t.test('check config deploy/prometheus.yml (with the rule file it names)', async (t) => {
    const out = promtool(['check', 'config', PROMETHEUS_CONFIG]);
    t.match(out, /is valid prometheus config file syntax/);
    t.match(out, `SUCCESS: ${ruleCount} rules found`, 'loads grafana/alerts.yml');
  });
  t.test('test rules grafana/tests/alerts.test.yml', async (t) => {
    let out: string;
    try {
      out = promtool(['test', 'rules', RULE_TESTS_FILE]);
    } catch (error) {
      const { stdout, stderr } = error as { stdout: string; stderr: string };
      t.fail(`promtool test rules failed:\n${stdout}\n${stderr}`);
      return;
    }
    t.match(out, /SUCCESS/);
  });
  t.test('another config passes the tests the mixin writes for it', async (t) => {
    const config = mixinConfig({
      selector: 'job="edge"',
      thresholds: { resetsRate: 40, synBacklogRatio: 0.75, twBucketsRatio: 0.6, window: 120 },
    });
    const dir = mkdtempSync(path.join(tmpdir(), 'sdmixin-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    for (const [relative, content] of generate(config)) {
      mkdirSync(path.dirname(path.join(dir, relative)), { recursive: true });
      writeFileSync(path.join(dir, relative), content);
    }
    let out = '';
    try {
      out = promtool(['test', 'rules', path.join(dir, 'tests', 'alerts.test.yml')]);
    } catch (error) {
      const { stdout, stderr } = error as { stdout: string; stderr: string };
      t.fail(`promtool test rules failed:\n${stdout}\n${stderr}`);
    }
    t.match(out, /SUCCESS/);
  });
});

t.test('alert signals', async (t) => {
  t.same(alertSignals('a > 1 or b{x="1"} / on (job) (c > 0) >= 0.8 unless on (job, instance) d'), [
    'a > bool 1',
    'b{x="1"} / on (job) (c > 0) >= bool 0.8',
    'd',
  ]);
  t.same(alertSignals('(x == 0)'), ['x == bool 0']);
});

const live = { skip: unavailable('namespaces', 'prometheus') };
t.test('a real Prometheus, overflowing queues', live, async (t) => {
  const started = Date.now();
  // A small TIME_WAIT table, so that the TIME_WAIT overflow fires too, and a
  // route for SYNs from an address whose SYN-ACKs are lost.
  const { ns, holder, stopFirst } = testNamespace(t, {
    prefix: 'sdprom',
    sysctls: { 'net.ipv4.tcp_max_tw_buckets': 4 },
  });
  ns.run('ip', ['route', 'add', '10.99.0.0/24', 'dev', 'lo']);
  // A second namespace, as a pod's would be, that the netns collector
  // scrapes (and no other namespace of the machine): its listener overflows
  // too, so that the Namespaces dashboard has an incident to show.
  const pod = testNamespace(t, { prefix: 'sdpod' });
  const exporter = await startExporter(
    ns,
    [
      '--collector.peers',
      '--collector.netns',
      `--collector.netns.include=^${pod.ns.name}$`,
      '--collector.closed',
    ],
    EXPORTER_PORT,
  );
  stopFirst(exporter);
  const prom = await startPrometheus(ns, TARGET, rulesWithFor('0s'));
  stopFirst(prom);
  const seriesOf = async (expr: string) => (await prom.query([expr]))[0]!.series;

  // Counters need a sample before the event for increase() to see it.
  const web = await holder.send({ op: 'listen', port: 8080, backlog: 1 });
  const syn = await holder.send({ op: 'listen', port: 9100, backlog: 4 });
  t.ok(
    await pollUntil(
      async () => (await seriesOf('sockdiag_listener_drops_total{port=~"8080|9100"}')) === 2,
      20_000,
      250,
    ),
    'Prometheus scraped the listeners before the events',
  );
  // Backlog 1: two connections fit the accept queue, the other four SYNs are
  // dropped and retried (ListenOverflows, the listener's drops).
  await holder.send({ op: 'connect', host: '127.0.0.1', port: web.port, count: 6, wait: false });
  const podWeb = await pod.holder.send({ op: 'listen', port: 8081, backlog: 1 });
  await pod.holder.send({
    op: 'connect',
    host: '127.0.0.1',
    port: podWeb.port,
    count: 6,
    wait: false,
  });
  // Backlog 4: the SYN queue holds about as many half-open requests, the
  // other SYNs are answered with cookies (SyncookiesSent), whatever
  // net.ipv4.tcp_max_syn_backlog says.
  synFlood(ns, { source: '10.99.0.7', host: '127.0.0.1', port: syn.port, count: 20 });
  // Eight TIME_WAIT sockets for a table of four: TCPTimeWaitOverflow.
  await holder.send({ op: 'timewait', port: 7000, count: 8 });

  const firing = async (alertname: string, labels: Record<string, string>) => {
    let found: Alert | undefined;
    await pollUntil(async () => {
      found = (await prom.alerts()).find(
        (a) =>
          a.labels.alertname === alertname &&
          a.state === 'firing' &&
          Object.entries(labels).every(([name, value]) => a.labels[name] === value),
      );
      return found !== undefined;
    }, 30_000);
    return found;
  };

  t.test('the accept-queue alert reaches firing', async (t) => {
    const alert = await firing('SockdiagAcceptQueueOverflow', { port: '8080' });
    t.ok(alert, 'SockdiagAcceptQueueOverflow firing in /api/v1/alerts');
    t.match(alert?.labels, {
      severity: 'critical',
      incident: 'accept_queue_overflow',
      job: JOB,
      instance: TARGET,
      address: '127.0.0.1',
      port: '8080',
    });
    t.equal(
      alert?.annotations.summary,
      'Accept queue overflow on 127.0.0.1:19561 at 127.0.0.1:8080.',
    );
    t.match(
      alert?.annotations.description,
      /^The listener 127\.0\.0\.1:8080 holds \d+ connections/,
    );
    t.ok(Number(alert?.value) >= 1, `value ${alert?.value}: the queue at its limit of 1`);
    const overflows = await firing('SockdiagAcceptQueueOverflow', { field: 'ListenOverflows' });
    t.ok(overflows, 'and host-wide on TcpExt ListenOverflows');
    t.equal(
      await seriesOf(
        `max_over_time(sockdiag_incident_detected{incident="accept_queue_overflow", netns=""}[1m]) == 1`,
      ),
      1,
      "the exporter's own check saw it too (on the host; the pod's namespace has its own)",
    );
  });

  t.test('the SYN-queue and SYN-cookie alerts reach firing', async (t) => {
    const queue = await firing('SockdiagSynQueueOverflow', { port: '9100' });
    t.ok(queue, 'SockdiagSynQueueOverflow firing for the listener');
    t.ok(Number(queue?.value) >= 0.9, `half-open at ${queue?.value} of the backlog`);
    const cookies = await firing('SockdiagSynCookies', { field: 'SyncookiesSent' });
    t.ok(cookies, 'SockdiagSynCookies firing on SyncookiesSent');
  });

  t.test('the TIME_WAIT overflow alert reaches firing', async (t) => {
    const alert = await firing('SockdiagTimeWaitBucketOverflow', { field: 'TCPTimeWaitOverflow' });
    t.ok(alert, 'SockdiagTimeWaitBucketOverflow firing on TCPTimeWaitOverflow');
  });

  t.test('the netns variable lists the host, the namespace and both', async (t) => {
    const overview = loadDashboards().find((d) => d.file === 'overview.json')!.dashboard;
    const variable = overview.templating!.list!.find((v) => v.name === 'netns')!;
    const inner = /^query_result\((.*)\)$/s.exec(String(variable.query))![1]!;
    const expr = expandTemplate(inner, { job: JOB, instance: TARGET });
    const vector = await pollUntil(async () => (await prom.query([expr]))[0]!.series === 4, 20_000);
    t.ok(vector, `${expr}: four options`);
  });

  t.test('every expression parses and returns series', async (t) => {
    const values: Record<string, string> = {
      job: JOB,
      instance: TARGET,
      // The netns variable's default: the host's own series.
      netns: '^$',
      port: '.+',
      __rate_interval: '10s',
      __interval: '1s',
      __range: '1m',
    };
    const queries: { where: string; expr: string }[] = [];
    for (const { file, dashboard } of loadDashboards()) {
      for (const query of dashboardQueries(dashboard, file)) {
        queries.push({ where: query.where, expr: expandTemplate(query.expr, values) });
      }
    }
    for (const rule of records) queries.push({ where: `record ${rule.record}`, expr: rule.expr });
    for (const rule of alerts) {
      alertSignals(rule.expr).forEach((signal, index) => {
        queries.push({ where: `alert ${rule.alert} signal ${index + 1}`, expr: signal });
      });
    }
    // rate() and the recording rules need a few scrapes and evaluations.
    let results: QueryResult[] = [];
    await pollUntil(async () => {
      results = await prom.query(queries.map((q) => q.expr));
      return results.every((r) => r.status === 'success' && r.series > 0);
    }, 30_000);
    results.forEach((result, index) => {
      const { where, expr } = queries[index]!;
      t.ok(result.status === 'success' && result.series > 0, `${where}: ${result.series} series`, {
        expr,
        status: result.status,
        error: result.error,
      });
    });
    // The alert expressions themselves: valid PromQL (they return series only when firing).
    const full = await prom.query(alerts.map((rule) => rule.expr));
    full.forEach((result, index) => {
      t.equal(result.status, 'success', `alert ${alerts[index]!.alert} parses`, {
        error: result.error,
      });
    });
  });

  t.test('Prometheus loaded every rule and evaluates it without error', async (t) => {
    const loaded = await prom.rules();
    t.same(
      loaded.map((rule) => rule.name).sort(),
      [...alerts.map((rule) => rule.alert), ...records.map((rule) => rule.record)].sort(),
    );
    for (const rule of loaded) {
      t.equal(rule.health, 'ok', `${rule.name}: health ok`, { lastError: rule.lastError });
      if (rule.type === 'alerting') t.equal(rule.duration, 0, `${rule.name}: for: cut to 0s`);
    }
  });

  t.test('time budget', async (t) => {
    const seconds = (Date.now() - started) / 1000;
    t.ok(seconds < 60, `live part took ${seconds.toFixed(1)} s`);
  });
});
