// How Prometheus finds the exporters: a headless Service with a
// ServiceMonitor, or a PodMonitor (pick one: both would scrape every pod
// twice), and the mixin's rules as a PrometheusRule.
import type { Service } from 'kubernetes-types/core/v1';
import { DEFAULT_CONFIG, type MixinConfig } from '../../../grafana/mixin/config';
import { selectedJob } from '../../../grafana/mixin/rule-tests';
import {
  prometheusRule as mixinPrometheusRule,
  type PrometheusRuleResource,
  ruleFile,
} from '../../../grafana/mixin/rules';
import { LABELS, NAME, PORT, PORT_NAME, SCRAPE_INTERVAL, SELECTOR, TELEMETRY_PATH } from './config';
import type { PodMonitor, RelabelConfig, ScrapeEndpoint, ServiceMonitor } from './monitoring-types';

// Headless: nothing should reach "some" exporter through a virtual IP, each
// pod is its own node's; the Service only lists the endpoints.
export const service: Service = {
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: NAME, labels: { ...LABELS } },
  spec: {
    clusterIP: 'None',
    selector: { ...SELECTOR },
    ports: [{ name: PORT_NAME, port: PORT, targetPort: PORT_NAME, protocol: 'TCP' }],
  },
};

const relabelings = (config: MixinConfig): RelabelConfig[] => [
  // The mixin's rules and dashboards select this job (its promtool tests
  // label their series with it too); the operator would name it after the
  // Service or "namespace/podmonitor".
  { action: 'replace', targetLabel: 'job', replacement: selectedJob(config.selector) },
  // With hostNetwork the instance is the node's address; the node's name
  // joins with kube-state-metrics (kube_node_info, kube_pod_info{node}).
  {
    action: 'replace',
    sourceLabels: ['__meta_kubernetes_pod_node_name'],
    targetLabel: 'node',
  },
];

const endpoint = (config: MixinConfig): ScrapeEndpoint => ({
  port: PORT_NAME,
  path: TELEMETRY_PATH,
  scheme: 'http',
  interval: SCRAPE_INTERVAL,
  relabelings: relabelings(config),
});

export function serviceMonitor(config: MixinConfig = DEFAULT_CONFIG): ServiceMonitor {
  return {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'ServiceMonitor',
    metadata: { name: NAME, labels: { ...LABELS } },
    spec: {
      selector: { matchLabels: { ...LABELS } },
      endpoints: [endpoint(config)],
    },
  };
}

export function podMonitor(config: MixinConfig = DEFAULT_CONFIG): PodMonitor {
  return {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PodMonitor',
    metadata: { name: NAME, labels: { ...LABELS } },
    spec: {
      selector: { matchLabels: { ...SELECTOR } },
      podMetricsEndpoints: [endpoint(config)],
    },
  };
}

/** The mixin's rules, as grafana/prometheusrule.yml carries them (its generator, reused). */
export function prometheusRule(config: MixinConfig = DEFAULT_CONFIG): PrometheusRuleResource {
  return mixinPrometheusRule(config, ruleFile(config));
}
