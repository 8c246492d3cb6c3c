// Panel builders shared by the dashboards: one per kind of series the
// exporter serves (kernel counters as rates, sysctls, per-listener gauges,
// per-port gauges). A new metric usually needs one call of these in a
// dashboard's panel list, or a new builder of a few lines here.
import { definition } from '../../../src/incidents/definitions';
import { metric, netstat, num, type Scope } from '../promql';
import type { PanelContext, PanelSpec, Target } from './common';

export const RATE = '[$__rate_interval]';

/** A time series panel, half the width by default. */
export function series(
  title: string,
  description: string,
  unit: string,
  targets: Target[],
  extra: Partial<PanelSpec> = {},
): PanelSpec {
  return { kind: 'timeseries', title, description, unit, targets, w: 12, h: 8, ...extra };
}

/** A single number, a sixth of the width. */
export function single(
  title: string,
  description: string,
  unit: string,
  expr: string,
  legend: string,
  extra: Partial<PanelSpec> = {},
): PanelSpec {
  return {
    kind: 'stat',
    title,
    description,
    unit,
    targets: [{ expr, legend }],
    w: 4,
    h: 4,
    ...extra,
  };
}

/** Kernel counters ("group.field") as per-second rates, by instance, namespace and field. */
export function counterRates(
  ctx: PanelContext,
  title: string,
  description: string,
  keys: readonly string[],
  unit = 'cps',
): PanelSpec {
  const expr = `sum by (instance, netns, field) (rate(${netstat(keys, ctx.scope)}${RATE}))`;
  return series(title, description, unit, [{ expr, legend: `${ON} {{field}}` }]);
}

/** Sysctls by name, their current value. */
export function sysctls(
  ctx: PanelContext,
  title: string,
  description: string,
  names: readonly string[],
  unit: string,
): PanelSpec {
  const expr = `max by (name) (${metric('sockdiag_sysctl', ctx.scope, { name: [...names] })})`;
  return {
    kind: 'stat',
    title,
    description,
    unit,
    targets: [{ expr, legend: '{{name}}' }],
    w: 12,
    h: 8,
  };
}

/** The exporter, and the namespace when it is not the host's (an empty label prints nothing). */
export const ON = '{{instance}} {{netns}}';

export const LISTENER_LEGEND = `${ON} {{address}}:{{port}}`;

/** A per-listener gauge (family, address, port), filtered by the port variable. */
export function perListener(
  ctx: PanelContext,
  title: string,
  description: string,
  unit: string,
  metrics: readonly [name: string, suffix: string][],
  extra: Partial<PanelSpec> = {},
): PanelSpec {
  const targets = metrics.map(([name, suffix]) => ({
    expr: metric(name, ctx.portScope),
    legend: suffix ? `${LISTENER_LEGEND} ${suffix}` : LISTENER_LEGEND,
  }));
  return series(title, description, unit, targets, extra);
}

/** A recorded series (grafana/alerts.yml) as one line per instance. */
export function recorded(ctx: PanelContext, key: string, scope: Scope, legend = ON): Target {
  const name = ctx.recorded[key];
  if (!name) throw new Error(`no recorded series ${key}`);
  return { expr: metric(name, scope), legend };
}

/** "…; SockdiagX fires at 80%." — the alert and its threshold, from the definitions and config. */
export function alertNote(incident: string, threshold?: string): string {
  const d = definition(incident);
  return threshold ? `${d.alert} fires at ${threshold}` : `${d.alert} fires on any rise`;
}

export const percent = (ratio: number) => `${num(ratio * 100)}%`;
