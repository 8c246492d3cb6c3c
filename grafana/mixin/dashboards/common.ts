// What every dashboard shares: the datasource, job and instance variables,
// links by tag, a panel description that names its kind and unit, and a
// simple left-to-right layout. A panel is a plain PanelSpec (panels.ts); this
// file turns it into the Grafana SDK's builders.
import * as dash from '@grafana/grafana-foundation-sdk/dashboard';
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as gauge from '@grafana/grafana-foundation-sdk/gauge';
import * as heatmap from '@grafana/grafana-foundation-sdk/heatmap';
import * as prom from '@grafana/grafana-foundation-sdk/prometheus';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as statetimeline from '@grafana/grafana-foundation-sdk/statetimeline';
import * as table from '@grafana/grafana-foundation-sdk/table';
import * as text from '@grafana/grafana-foundation-sdk/text';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import type { MixinConfig } from '../config';
import { recordedNames } from '../rules';
import { ruleContext, type RuleContext } from '../signals';
import type { Scope } from '../promql';

export const DATASOURCE = { type: 'prometheus', uid: '${datasource}' };

/** What panel builders get: the config, the dashboards' scope, recorded series names. */
export interface PanelContext {
  config: MixinConfig;
  /** job and instance variables: every selector carries them. */
  scope: Scope;
  /** The same, by listener port as well (the listeners dashboard). */
  portScope: Scope;
  /** The rules' expressions with the dashboards' scope. */
  rc: RuleContext;
  recorded: Record<string, string>;
}

/**
 * The network namespace matcher of dashboards with the netns variable. The
 * host's own series carry no `netns` label, and `netns=~"$netns"` matches
 * them only when the value matches the empty string: the variable's values
 * are regular expressions, `^$` for the host (its default, so that sums
 * never mix the host with the namespaces unless asked to).
 */
export const NETNS_MATCHER = 'netns=~"$netns"';

export function panelContext(config: MixinConfig, options: { netns?: boolean } = {}): PanelContext {
  const netns = options.netns ?? true;
  const scope = {
    matchers: ['job=~"$job"', 'instance=~"$instance"', ...(netns ? [NETNS_MATCHER] : [])],
  };
  const rc = ruleContext(scope, config.thresholds);
  return {
    config,
    scope,
    portScope: { matchers: [...scope.matchers, 'port=~"$port"'] },
    rc,
    recorded: recordedNames(rc),
  };
}

export interface Target {
  expr: string;
  legend?: string;
  /** An instant query (tables, current values). */
  instant?: boolean;
  format?: 'table' | 'heatmap';
}

export type PanelKind = 'timeseries' | 'stat' | 'gauge' | 'heatmap' | 'table' | 'state-timeline';

export interface PanelSpec {
  kind: PanelKind;
  title: string;
  /** One line: what it shows and what a bad value means. */
  description: string;
  unit: string;
  targets: Target[];
  w: number;
  h: number;
  /** Red from this value on (green below). */
  redFrom?: number;
  min?: number;
  max?: number;
  /** Series name -> display name. */
  displayNames?: Readonly<Record<string, string>>;
}

/** A Markdown panel (no queries): the incident table. */
export interface TextSpec {
  kind: 'text';
  title: string;
  description: string;
  content: string;
  w: number;
  h: number;
}

export type AnySpec = PanelSpec | TextSpec;

/** The builder methods every panel kind of the SDK shares. */
interface PanelBuilderLike {
  build(): dash.Panel;
  id(id: number): this;
  title(title: string): this;
  description(description: string): this;
  gridPos(gridPos: dash.GridPos): this;
  datasource(datasource: dash.DataSourceRef): this;
  unit(unit: string): this;
  min(min: number): this;
  max(max: number): this;
  thresholds(thresholds: dash.ThresholdsConfigBuilder): this;
  withTarget(target: prom.DataqueryBuilder): this;
  overrideByName(name: string, properties: dash.DynamicConfigValue[]): this;
}

function kindBuilder(spec: PanelSpec): PanelBuilderLike {
  const legend = new common.VizLegendOptionsBuilder()
    .showLegend(true)
    .displayMode(common.LegendDisplayMode.List)
    .placement(common.LegendPlacement.Bottom);
  switch (spec.kind) {
    case 'timeseries':
      return new timeseries.PanelBuilder().legend(legend).fillOpacity(10);
    case 'stat':
      return new stat.PanelBuilder().reduceOptions(
        new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']),
      );
    case 'gauge':
      return new gauge.PanelBuilder().reduceOptions(
        new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']),
      );
    case 'heatmap':
      return new heatmap.PanelBuilder()
        .calculate(false)
        .yAxis(new heatmap.YAxisConfigBuilder().unit(spec.unit));
    case 'table':
      return new table.PanelBuilder();
    case 'state-timeline':
      return new statetimeline.PanelBuilder().legend(legend);
  }
}

function query(target: Target, refId: string): prom.DataqueryBuilder {
  const q = new prom.DataqueryBuilder().refId(refId).expr(target.expr).datasource(DATASOURCE);
  if (target.legend !== undefined) q.legendFormat(target.legend);
  if (target.instant) q.instant();
  else q.range();
  if (target.format === 'table') q.format(prom.PromQueryFormat.Table);
  if (target.format === 'heatmap') q.format(prom.PromQueryFormat.Heatmap);
  return q;
}

function buildPanel(spec: AnySpec, id: number, gridPos: dash.GridPos): dash.Panel {
  if (spec.kind === 'text') {
    return new text.PanelBuilder()
      .id(id)
      .title(spec.title)
      .description(spec.description)
      .gridPos(gridPos)
      .mode(text.TextMode.Markdown)
      .content(spec.content)
      .build();
  }
  const builder = kindBuilder(spec)
    .id(id)
    .title(spec.title)
    .description(spec.description)
    .gridPos(gridPos)
    .datasource(DATASOURCE)
    .unit(spec.unit);
  if (spec.min !== undefined) builder.min(spec.min);
  if (spec.max !== undefined) builder.max(spec.max);
  if (spec.redFrom !== undefined) {
    builder.thresholds(
      new dash.ThresholdsConfigBuilder().mode(dash.ThresholdsMode.Absolute).steps([
        { value: null, color: 'green' },
        { value: spec.redFrom, color: 'red' },
      ]),
    );
  }
  for (const [name, displayName] of Object.entries(spec.displayNames ?? {})) {
    builder.overrideByName(name, [{ id: 'displayName', value: displayName }]);
  }
  spec.targets.forEach((target, index) => {
    builder.withTarget(query(target, String.fromCharCode(65 + index)));
  });
  return builder.build();
}

/** Left to right, a new line when the next panel does not fit in 24 columns. */
export function layout(specs: readonly AnySpec[]): dash.Panel[] {
  let x = 0;
  let y = 0;
  let lineHeight = 0;
  return specs.map((spec, index) => {
    if (x + spec.w > 24) {
      x = 0;
      y += lineHeight;
      lineHeight = 0;
    }
    const panel = buildPanel(spec, index + 1, { x, y, w: spec.w, h: spec.h });
    x += spec.w;
    lineHeight = Math.max(lineHeight, spec.h);
    return panel;
  });
}

export interface DashboardSpec {
  slug: string;
  title: string;
  description: string;
  /** Whether it has the netns variable (default true); panelContext's option must agree. */
  netns?: boolean;
  /** Variables after datasource, job and instance. */
  variables?: dash.QueryVariableBuilder[];
  panels: AnySpec[];
}

export interface BuiltDashboard {
  slug: string;
  json: dash.Dashboard;
}

/** A query variable of the dashboards' data source, all values by default. */
export function queryVariable(
  name: string,
  label: string,
  query: string,
  sort = dash.VariableSort.AlphabeticalAsc,
) {
  return new dash.QueryVariableBuilder(name)
    .label(label)
    .datasource(DATASOURCE)
    .query(query)
    .definition(query)
    .refresh(dash.VariableRefresh.OnTimeRangeChanged)
    .includeAll(true)
    .allValue('.+')
    .multi(true)
    .sort(sort);
}

/** A netns option: its text, shown, and its value, a regular expression over `netns`. */
function netnsOption(base: string, text: string, value: string): string {
  // label_replace from the empty source label "" sets a constant; `$$` is a literal $.
  const constant = (expr: string, label: string, v: string) =>
    `label_replace(${expr}, "${label}", "${v.replaceAll('$', '$$$$')}", "", "")`;
  return constant(constant(`max(${base})`, 'netns', text), 'value', value);
}

/**
 * The netns variable: a single choice, whose value is used unescaped (Grafana
 * escapes only multi-value and "All" variables). Options: the host alone,
 * every namespace, both, then each namespace by its netns label. The
 * synthetic ones carry their regex in a `value` label; query_result lines
 * list labels sorted, so `netns` comes before `value`. A namespace name is
 * used as a regex too: a dot in an `ip netns` name matches any character.
 */
export function netnsVariable(): dash.QueryVariableBuilder {
  const job = 'job=~"$job", instance=~"$instance"';
  const host = `sockdiag_scrape_collector_success{${job}, netns=""}`;
  const info = `sockdiag_netns_info{${job}}`;
  const query = `query_result(${[
    netnsOption(host, HOST_TEXT, '^$'),
    netnsOption(info, '(all namespaces)', '.+'),
    netnsOption(info, '(host and all namespaces)', '.*'),
    `max by (netns) (${info})`,
  ].join(' or ')})`;
  return new dash.QueryVariableBuilder('netns')
    .label('Network namespace')
    .description(
      'The host (series without a netns label), a namespace the exporter scrapes with --collector.netns, or all of them: sums then add the host and the namespaces.',
    )
    .datasource(DATASOURCE)
    .query(query)
    .definition(query)
    .regex('/netns="(?<text>[^"]+)"(?:.*value="(?<value>[^"]+)")?/')
    .refresh(dash.VariableRefresh.OnTimeRangeChanged)
    .includeAll(false)
    .multi(false)
    .current({ text: HOST_TEXT, value: '^$' })
    .sort(dash.VariableSort.AlphabeticalAsc);
}

const HOST_TEXT = '(host)';

export function buildDashboard(config: MixinConfig, spec: DashboardSpec): BuiltDashboard {
  const d = config.dashboards;
  const jobs = `label_values(sockdiag_scrape_collector_success{${config.selector}}, job)`;
  const instances = 'label_values(sockdiag_scrape_collector_success{job=~"$job"}, instance)';
  const builder = new dash.DashboardBuilder(`${d.titlePrefix}${spec.title}`)
    .uid(`${d.uidPrefix}-${spec.slug}`)
    .description(spec.description)
    .tags([...d.tags])
    .editable()
    .tooltip(dash.DashboardCursorSync.Crosshair)
    .timezone('browser')
    .refresh(d.refresh)
    .time({ from: d.timeFrom, to: 'now' })
    .link(
      new dash.DashboardLinkBuilder(d.tags[0] ?? 'sockdiag')
        .type(dash.DashboardLinkType.Dashboards)
        .tags([d.tags[0] ?? 'sockdiag'])
        .asDropdown(true)
        .includeVars(true)
        .keepTime(true),
    )
    .withVariable(
      new dash.DatasourceVariableBuilder('datasource').label('Data source').type('prometheus'),
    )
    .withVariable(queryVariable('job', 'Job', jobs).includeAll(false).multi(false))
    .withVariable(queryVariable('instance', 'Instance', instances));
  if (spec.netns ?? true) builder.withVariable(netnsVariable());
  for (const variable of spec.variables ?? []) builder.withVariable(variable);
  const json = builder.build();
  // The SDK's defaults for this schema put the links in the controls menu
  // and leave no annotation list; keep links in the top bar, as Grafana 10
  // and 11 show them, and give older versions the list they expect.
  for (const link of json.links ?? []) delete link.placement;
  json.annotations = { list: [] };
  json.panels = layout(spec.panels);
  return { slug: spec.slug, json };
}
