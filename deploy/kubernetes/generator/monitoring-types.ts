// The few fields of the Prometheus operator's ServiceMonitor and PodMonitor (API group
// monitoring.coreos.com/v1) that these manifests use. kubernetes-types has
// only the built-in kinds, so these are written here, narrower than the
// CRDs: a field not listed is a type error until someone adds it here after
// checking the operator's API reference. The PrometheusRule's type is the
// mixin's (grafana/mixin/rules.ts), which generates it.
import type { LabelSelector, ObjectMeta } from 'kubernetes-types/meta/v1';

/** A relabelling step, as in Prometheus' relabel_config (camelCase in the CRDs). */
export interface RelabelConfig {
  action?: 'replace' | 'keep' | 'drop' | 'labelmap' | 'labeldrop' | 'labelkeep';
  sourceLabels?: string[];
  separator?: string;
  regex?: string;
  targetLabel?: string;
  replacement?: string;
}

/** What the endpoints of both monitors have in common. */
export interface ScrapeEndpoint {
  /** The name of the Service's port (ServiceMonitor) or the container's (PodMonitor). */
  port: string;
  path?: string;
  scheme?: 'http' | 'https';
  /** A Prometheus duration, e.g. 15s. */
  interval?: string;
  scrapeTimeout?: string;
  honorLabels?: boolean;
  /** Applied to the target after the operator's own relabelling. */
  relabelings?: RelabelConfig[];
}

export interface ServiceMonitor {
  apiVersion: 'monitoring.coreos.com/v1';
  kind: 'ServiceMonitor';
  metadata: ObjectMeta;
  spec: {
    /** Which Services (in the monitor's namespace, by default) to scrape. */
    selector: LabelSelector;
    endpoints: ScrapeEndpoint[];
  };
}

export interface PodMonitor {
  apiVersion: 'monitoring.coreos.com/v1';
  kind: 'PodMonitor';
  metadata: ObjectMeta;
  spec: {
    /** Which pods (in the monitor's namespace, by default) to scrape. */
    selector: LabelSelector;
    podMetricsEndpoints: ScrapeEndpoint[];
  };
}
