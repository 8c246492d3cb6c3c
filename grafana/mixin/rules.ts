// The Prometheus rule file: recording rules for what the dashboards plot,
// one alert per incident (name, severity, `for:` and remedy from the
// definitions, the expression from alerts.ts), and the exporter's own
// health. Also the same groups as a PrometheusRule for the operator.
import { INCIDENTS } from '../../src/incidents/definitions';
import { INCIDENT_ALERTS } from './alerts';
import type { MixinConfig } from './config';
import { metric } from './promql';
import {
  acceptQueueFill,
  connectionChurn,
  connectionOpens,
  halfOpenFill,
  retransmittedSegments,
  ruleContext,
  type RuleContext,
  timeWaitBuckets,
} from './signals';

export interface RecordingRule {
  record: string;
  expr: string;
}

export interface AlertingRule {
  alert: string;
  expr: string;
  for: string;
  labels: Record<string, string>;
  annotations: { summary: string; description: string };
}

export type Rule = RecordingRule | AlertingRule;

export interface RuleGroup {
  name: string;
  rules: Rule[];
}

export interface RuleFile {
  groups: RuleGroup[];
}

/** The recorded series, by the name the dashboards query them with. */
export function recordedNames(c: RuleContext): Record<string, string> {
  return {
    acceptQueueFill: 'sockdiag_listener:accept_queue_fill:ratio',
    halfOpenFill: 'sockdiag_listener:half_open_fill:ratio',
    timeWaitBuckets: 'instance:sockdiag_time_wait_buckets:ratio',
    connectionOpens: `instance:sockdiag_connection_opens:rate${c.window}`,
    connectionChurn: `instance:sockdiag_connection_churn:ratio_rate${c.window}`,
    retransmittedSegments: `instance:sockdiag_tcp_retransmitted_segments:ratio_rate${c.window}`,
  };
}

function recordingRules(c: RuleContext): RecordingRule[] {
  const names = recordedNames(c);
  const exprs: Record<string, (c: RuleContext) => string> = {
    acceptQueueFill,
    halfOpenFill,
    timeWaitBuckets,
    connectionOpens,
    connectionChurn,
    retransmittedSegments,
  };
  return Object.entries(exprs).map(([key, build]) => ({ record: names[key]!, expr: build(c) }));
}

function incidentAlerts(config: MixinConfig, c: RuleContext): AlertingRule[] {
  for (const incident of Object.keys(INCIDENT_ALERTS)) {
    if (!INCIDENTS.some((d) => d.incident === incident)) {
      throw new Error(
        `grafana/mixin/alerts.ts has an alert for ${incident}, which has no definition`,
      );
    }
  }
  return INCIDENTS.map((d) => {
    const spec = INCIDENT_ALERTS[d.incident];
    if (!spec) throw new Error(`grafana/mixin/alerts.ts has no alert for incident ${d.incident}`);
    return {
      alert: d.alert,
      expr: spec.expr(c),
      for: config.alertFor[d.alert] ?? d.alertFor,
      labels: { severity: d.severity, incident: d.incident },
      annotations: {
        summary: spec.summary,
        description: `${spec.description(c)} Remedy: ${d.remedy}`,
      },
    };
  });
}

function healthAlerts(config: MixinConfig, c: RuleContext): AlertingRule[] {
  return [
    {
      alert: 'SockdiagCollectorFailed',
      expr: `${metric('sockdiag_scrape_collector_success', c.scope)} == 0`,
      for: config.collectorFailedFor,
      labels: { severity: 'warning' },
      annotations: {
        summary: 'sockdiag collector {{ $labels.collector }} fails on {{ $labels.instance }}.',
        description: `sockdiag_scrape_collector_success{collector="{{ $labels.collector }}"} has been 0 for ${config.collectorFailedFor}: its metrics are missing from every scrape and the incident checks that need them have no opinion (sockdiag_incident_evaluated is 0). Remedy: read the exporter log for the collector's error (permissions, a missing /proc file, netlink errors), or disable the collector with --no-collector.{{ $labels.collector }}.`,
      },
    },
  ];
}

export function ruleFile(config: MixinConfig): RuleFile {
  const c = ruleContext({ matchers: [config.selector] }, config.thresholds);
  return {
    groups: [
      { name: `${config.ruleGroupPrefix}.recording`, rules: recordingRules(c) },
      {
        name: `${config.ruleGroupPrefix}.alerts`,
        rules: [...incidentAlerts(config, c), ...healthAlerts(config, c)],
      },
    ],
  };
}

/** The Prometheus operator's resource that carries a rule file. */
export interface PrometheusRuleResource {
  apiVersion: 'monitoring.coreos.com/v1';
  kind: 'PrometheusRule';
  metadata: { name: string; labels: Record<string, string> };
  spec: RuleFile;
}

/** The same groups as the Prometheus operator's resource. */
export function prometheusRule(config: MixinConfig, rules: RuleFile): PrometheusRuleResource {
  return {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: { name: config.prometheusRule.name, labels: { ...config.prometheusRule.labels } },
    spec: rules,
  };
}
