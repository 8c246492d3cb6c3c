// The promtool unit tests of the rule file: the scenarios' input series, the
// alerts each must raise (labels from the scenario plus the rule's own,
// annotations rendered from the rule's templates), the evaluation times at
// which it must not, and the recording rules on known inputs.
import { duration, num } from './promql';
import type { MixinConfig } from './config';
import { type AlertingRule, recordedNames, type RuleFile } from './rules';
import { listenerScenarios, type Scenario, type ScenarioContext, seriesOf } from './scenarios';
import { connectionScenarios, timeWaitScenarios } from './scenarios-connections';
import { ruleContext } from './signals';
import { render } from './templates';

/** The job the test series carry: the one the config's selector picks. */
export function selectedJob(selector: string): string {
  const match = /^job="([^"]+)"$/.exec(selector.trim());
  if (!match) {
    throw new Error(
      `the promtool tests need a selector of the form job="NAME" to label their series; got ${selector}`,
    );
  }
  return match[1]!;
}

export function scenarios(config: MixinConfig): Scenario[] {
  const c: ScenarioContext = {
    job: selectedJob(config.selector),
    th: config.thresholds,
    window: config.thresholds.window,
  };
  return [...listenerScenarios(c), ...timeWaitScenarios(c), ...connectionScenarios(c)];
}

function alertTest(scenario: Scenario, rule: AlertingRule) {
  const quiet = scenario.quiet.map((at) => ({
    eval_time: duration(at),
    alertname: rule.alert,
    exp_alerts: [],
  }));
  const firing = {
    eval_time: duration(scenario.firing.at),
    alertname: rule.alert,
    exp_alerts: scenario.firing.alerts.map(({ labels, value }) => ({
      exp_labels: { ...rule.labels, ...labels },
      exp_annotations: {
        summary: render(rule.annotations.summary, labels, value),
        description: render(rule.annotations.description, labels, value),
      },
    })),
  };
  return {
    name: scenario.name,
    interval: duration(scenario.interval),
    input_series: scenario.series,
    alert_rule_test: [...quiet, firing],
  };
}

/** The recording rules on one listener and one host with known numbers. */
function recordingTest(config: MixinConfig) {
  const job = selectedJob(config.selector);
  const names = recordedNames(ruleContext({ matchers: [config.selector] }, config.thresholds));
  const listener = (port: string) => ({ family: 'inet', address: '0.0.0.0', port });
  const n = (name: string, labels: Record<string, string>, values: string) =>
    seriesOf(job, name, 'web', labels, values);
  const sockets = (family: string, state: string) => ({ protocol: 'tcp', family, state });
  const field = (name: string) => ({ group: 'Tcp', field: name });
  const sample = (record: string, labels: string, value: number) => ({
    expr: record,
    eval_time: '2m',
    exp_samples: [{ labels: `${record}{${labels}}`, value }],
  });
  const at = (port: string) =>
    `job="${job}",instance="web:19561",family="inet",address="0.0.0.0",port="${port}"`;
  const hostLabels = `job="${job}",instance="web:19561"`;
  return {
    name: 'recording rules',
    interval: '15s',
    input_series: [
      n('sockdiag_listener_accept_queue_length', listener('8080'), '64x8'),
      n('sockdiag_listener_accept_queue_limit', listener('8080'), '128x8'),
      n('sockdiag_listener_half_open_sockets', listener('8080'), '32x8'),
      // listen(fd, 0): no ratio rather than +Inf.
      n('sockdiag_listener_accept_queue_length', listener('7000'), '0x8'),
      n('sockdiag_listener_accept_queue_limit', listener('7000'), '0x8'),
      n('sockdiag_sockets', sockets('inet', 'time_wait'), '300x8'),
      n('sockdiag_sockets', sockets('inet6', 'time_wait'), '100x8'),
      n('sockdiag_sockets', sockets('inet', 'established'), '40x8'),
      n('sockdiag_sockets', sockets('inet6', 'established'), '10x8'),
      n('sockdiag_sysctl', { name: 'net.ipv4.tcp_max_tw_buckets' }, '1000x8'),
      // 15 + 15 opens per 15 s: 2 per second, against 50 established.
      n('sockdiag_netstat_total', field('ActiveOpens'), '0+15x8'),
      n('sockdiag_netstat_total', field('PassiveOpens'), '0+15x8'),
      // 3 retransmitted of 300 segments sent per 15 s: 1%.
      n('sockdiag_netstat_total', field('RetransSegs'), '0+3x8'),
      n('sockdiag_netstat_total', field('OutSegs'), '0+300x8'),
    ],
    promql_expr_test: [
      sample(names.acceptQueueFill!, at('8080'), 0.5),
      sample(names.halfOpenFill!, at('8080'), 0.25),
      sample(names.timeWaitBuckets!, hostLabels, 0.4),
      sample(names.connectionOpens!, hostLabels, 2),
      sample(names.connectionChurn!, hostLabels, 0.04),
      sample(names.retransmittedSegments!, hostLabels, 0.01),
    ],
  };
}

export function ruleTests(config: MixinConfig, rules: RuleFile) {
  const alerts = new Map<string, AlertingRule>();
  for (const group of rules.groups) {
    for (const rule of group.rules) if ('alert' in rule) alerts.set(rule.alert, rule);
  }
  const tests = scenarios(config).map((scenario) => {
    const rule = alerts.get(scenario.alert);
    if (!rule) throw new Error(`scenario ${scenario.name}: no alert ${scenario.alert}`);
    return alertTest(scenario, rule);
  });
  return {
    rule_files: ['../alerts.yml'],
    evaluation_interval: `${num(15)}s`,
    tests: [...tests, recordingTest(config)],
  };
}
