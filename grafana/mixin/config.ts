// The mixin's configuration, in the manner of a monitoring mixin's
// `_config`: which series are the exporter's, the thresholds the alert
// rules compare with (the incident checks' own defaults unless overridden),
// and how the dashboards are named. Change it here (or in a copy passed to
// `generate()`), then `npm run mixin` rewrites every output.
import { DEFAULT_THRESHOLDS, type Thresholds } from '../../src/incidents/thresholds';

export interface DashboardConfig {
  /** Every dashboard uid is `${uidPrefix}-${slug}`. */
  uidPrefix: string;
  /** Every title is `${titlePrefix}${Title}`. */
  titlePrefix: string;
  /** The dashboards link to each other by their first tag. */
  tags: readonly string[];
  refresh: string;
  timeFrom: string;
}

export interface MixinConfig {
  /**
   * The matchers that pick the exporter's series: the rules use them as
   * they are, the dashboards' job variable lists the jobs they match.
   * deploy/prometheus.yml scrapes the exporter as job "sockdiag"; under the
   * Prometheus operator the job is the Service's name.
   */
  selector: string;
  /**
   * The thresholds the rules compare with. Keep them equal to the flags the
   * exporters run with (--collector.incidents.KEY), so that an alert and
   * sockdiag_incident_detected fire together. `window` (seconds) is the
   * range of every increase() and rate() in the rules: it must span a few
   * scrape intervals.
   */
  thresholds: Thresholds;
  /** `for:` per alert name, over the definitions' own (src/incidents/definitions.ts). */
  alertFor: Readonly<Record<string, string>>;
  /** How long a collector may fail before SockdiagCollectorFailed fires. */
  collectorFailedFor: string;
  /** Rule groups are `${ruleGroupPrefix}.recording` and `${ruleGroupPrefix}.alerts`. */
  ruleGroupPrefix: string;
  dashboards: DashboardConfig;
  /** metadata of the generated PrometheusRule (the Prometheus operator's resource). */
  prometheusRule: { name: string; labels: Readonly<Record<string, string>> };
}

export const DEFAULT_CONFIG: MixinConfig = {
  selector: 'job="sockdiag"',
  thresholds: DEFAULT_THRESHOLDS,
  alertFor: {},
  collectorFailedFor: '5m',
  ruleGroupPrefix: 'sockdiag',
  dashboards: {
    uidPrefix: 'sockdiag',
    titlePrefix: 'sockdiag / ',
    tags: ['sockdiag', 'tcp'],
    refresh: '30s',
    timeFrom: 'now-1h',
  },
  prometheusRule: {
    name: 'sockdiag-exporter',
    labels: { 'app.kubernetes.io/name': 'sockdiag-exporter' },
  },
};

export interface ConfigOverrides extends Partial<
  Omit<MixinConfig, 'thresholds' | 'dashboards' | 'prometheusRule'>
> {
  thresholds?: Partial<Thresholds>;
  dashboards?: Partial<DashboardConfig>;
  prometheusRule?: Partial<MixinConfig['prometheusRule']>;
}

/** The default configuration with `overrides` merged in, one level deep. */
export function mixinConfig(overrides: ConfigOverrides = {}): MixinConfig {
  return {
    ...DEFAULT_CONFIG,
    ...overrides,
    thresholds: { ...DEFAULT_CONFIG.thresholds, ...overrides.thresholds },
    dashboards: { ...DEFAULT_CONFIG.dashboards, ...overrides.dashboards },
    prometheusRule: { ...DEFAULT_CONFIG.prometheusRule, ...overrides.prometheusRule },
  };
}
