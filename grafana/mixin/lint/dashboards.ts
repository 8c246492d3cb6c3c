// The dashboard lint, after the rules of Grafana's dashboard-linter: a uid
// and title, a datasource variable that every panel and query uses, job and
// instance variables that every query filters by (and netns, where the
// dashboard has that variable), units, titles and
// descriptions on every panel, `$__rate_interval` in rates, counters only
// under rate()/increase(), every expression valid PromQL, and a layout that
// fits. Returns the problems; none is the only pass.
import { COUNTER_FUNCTIONS, exprProblems, type SelectorUse } from './promql';

export const DATASOURCE_UID = '${datasource}';
const PANEL_TYPES = new Set(['timeseries', 'stat', 'gauge', 'state-timeline', 'heatmap', 'table']);
const BUILTIN_VARIABLES = new Set(['__rate_interval', '__interval', '__range']);

interface Ref {
  type?: string;
  uid?: string;
}

export interface LintPanel {
  id?: number;
  type: string;
  title?: string;
  description?: string;
  datasource?: Ref;
  gridPos?: { x: number; y: number; w: number; h: number };
  targets?: { refId?: string; expr?: string; datasource?: Ref }[];
  fieldConfig?: { defaults?: { unit?: string } };
  options?: { yAxis?: { unit?: string } };
  panels?: LintPanel[];
}

export interface LintVariable {
  name: string;
  type: string;
  query?: unknown;
  datasource?: Ref | string;
  multi?: boolean;
  includeAll?: boolean;
  current?: { value?: unknown };
}

export interface LintDashboard {
  id?: number | null;
  uid?: string;
  title?: string;
  templating?: { list?: LintVariable[] };
  panels?: LintPanel[];
}

function panelsOf(panels: readonly LintPanel[] = []): LintPanel[] {
  return panels.flatMap((p) => [p, ...panelsOf(p.panels)]);
}

function isDatasource(ref: Ref | string | undefined): boolean {
  return typeof ref === 'object' && ref.type === 'prometheus' && ref.uid === DATASOURCE_UID;
}

function variableQuery(v: LintVariable): string {
  if (typeof v.query === 'string') return v.query;
  const q = (v.query as { query?: unknown } | undefined)?.query;
  return typeof q === 'string' ? q : '';
}

function hasMatcher(s: SelectorUse, label: string, variable: string): boolean {
  return s.matchers.some((m) => m.label === label && m.op === '=~' && m.value === `$${variable}`);
}

function variableProblems(d: LintDashboard, where: string): string[] {
  const out: string[] = [];
  const vars = new Map((d.templating?.list ?? []).map((v) => [v.name, v]));
  const ds = vars.get('datasource');
  if (ds?.type !== 'datasource' || ds.query !== 'prometheus') {
    out.push(`${where}: no datasource variable of Prometheus data sources`);
  }
  for (const name of ['job', 'instance']) {
    const v = vars.get(name);
    if (v?.type !== 'query') out.push(`${where}: no ${name} query variable`);
    else if (!new RegExp(`^label_values\\(.*, ?${name}\\)$`).test(variableQuery(v))) {
      out.push(`${where}: variable ${name} does not list label_values(..., ${name})`);
    }
  }
  const netns = vars.get('netns');
  // Its values are regular expressions (^$ for the host): Grafana would
  // escape them in a multi-value or "All" variable.
  if (netns && (netns.type !== 'query' || netns.multi || netns.includeAll)) {
    out.push(`${where}: variable netns is not a single-value query variable without All`);
  }
  if (netns && netns.current?.value !== '^$') {
    out.push(`${where}: variable netns does not default to the host (^$)`);
  }
  for (const v of vars.values()) {
    if (v.type === 'query' && !isDatasource(v.datasource)) {
      out.push(`${where}: variable ${v.name} does not query $datasource`);
    }
  }
  return out;
}

/** Every query of the dashboard: panel targets and query variables. */
export function dashboardQueries(d: LintDashboard, file: string) {
  const out: { where: string; expr: string; variable?: string }[] = [];
  for (const panel of panelsOf(d.panels)) {
    for (const target of panel.targets ?? []) {
      out.push({
        where: `${file} panel ${panel.id} "${panel.title}" ${target.refId}`,
        expr: target.expr ?? '',
      });
    }
  }
  for (const v of d.templating?.list ?? []) {
    const query = variableQuery(v);
    const match =
      /^label_values\((.*), ?\w+\)$/s.exec(query) ?? /^query_result\((.*)\)$/s.exec(query);
    if (v.type === 'query' && match) {
      out.push({ where: `${file} variable ${v.name}`, expr: match[1]!, variable: v.name });
    }
  }
  return out;
}

function queryProblems(d: LintDashboard, file: string): string[] {
  const out: string[] = [];
  const defined = new Set((d.templating?.list ?? []).map((v) => v.name));
  // With the netns variable, every query but the variables it depends on
  // picks the host or the chosen namespace, never both by accident.
  const netnsFree = new Set(['job', 'instance', 'netns']);
  for (const { where, expr, variable } of dashboardQueries(d, file)) {
    for (const [, name] of expr.matchAll(/\$\{?(\w+)\}?/g)) {
      if (!defined.has(name!) && !BUILTIN_VARIABLES.has(name!))
        out.push(`${where}: undefined $${name}`);
    }
    const { problems, parsed } = exprProblems(expr, where);
    out.push(...problems);
    if (variable === 'job') continue; // it lists the jobs
    for (const s of parsed.selectors) {
      if (!hasMatcher(s, 'job', 'job'))
        out.push(`${where}: ${s.metric} not filtered by job=~"$job"`);
      if (variable !== 'instance' && !hasMatcher(s, 'instance', 'instance')) {
        out.push(`${where}: ${s.metric} not filtered by instance=~"$instance"`);
      }
      if (
        defined.has('netns') &&
        !netnsFree.has(variable ?? '') &&
        !hasMatcher(s, 'netns', 'netns')
      ) {
        out.push(`${where}: ${s.metric} not filtered by netns=~"$netns"`);
      }
      if (s.fn && COUNTER_FUNCTIONS.has(s.fn) && s.range !== '$__rate_interval') {
        // increase over the dashboard's range is a total, the one exception.
        if (!(s.fn === 'increase' && s.range === '$__range')) {
          out.push(`${where}: ${s.fn}() over ${s.range}, not $__rate_interval`);
        }
      }
    }
  }
  return out;
}

function panelProblems(panel: LintPanel, where: string): string[] {
  const out: string[] = [];
  if (!panel.title?.trim()) out.push(`${where}: no title`);
  const description = panel.description ?? '';
  if (description.length < 20 || description.length > 300 || /\n/.test(description)) {
    out.push(`${where}: the description is not one line of 20 to 300 characters`);
  }
  if (panel.type === 'text' || panel.type === 'row') return out;
  if (!PANEL_TYPES.has(panel.type)) out.push(`${where}: unknown panel type ${panel.type}`);
  if (!panel.fieldConfig?.defaults?.unit) out.push(`${where}: no unit`);
  if (panel.type === 'heatmap' && !panel.options?.yAxis?.unit) out.push(`${where}: no y-axis unit`);
  if (!isDatasource(panel.datasource)) out.push(`${where}: does not use $datasource`);
  const targets = panel.targets ?? [];
  if (targets.length === 0) out.push(`${where}: no queries`);
  const refIds = targets.map((t) => t.refId);
  if (new Set(refIds).size !== refIds.length || refIds.some((r) => !r)) {
    out.push(`${where}: refIds missing or repeated`);
  }
  for (const t of targets) {
    if (!isDatasource(t.datasource))
      out.push(`${where} ${t.refId}: query does not use $datasource`);
  }
  return out;
}

function layoutProblems(panels: readonly LintPanel[], file: string): string[] {
  const out: string[] = [];
  const cells = new Map<string, number>();
  for (const panel of panels) {
    const g = panel.gridPos;
    if (!g || g.w <= 0 || g.h <= 0 || g.x < 0 || g.x + g.w > 24) {
      out.push(`${file} panel ${panel.id}: outside the 24-column grid`);
      continue;
    }
    for (let row = g.y; row < g.y + g.h; row++) {
      for (let col = g.x; col < g.x + g.w; col++) {
        const other = cells.get(`${row},${col}`);
        if (other !== undefined) {
          out.push(`${file} panel ${panel.id} overlaps panel ${other}`);
          return out;
        }
        cells.set(`${row},${col}`, panel.id ?? 0);
      }
    }
  }
  return out;
}

export function lintDashboard(d: LintDashboard, file: string): string[] {
  const out: string[] = [];
  if (!d.uid || !/^[a-z0-9-]{1,40}$/.test(d.uid)) out.push(`${file}: no stable uid (${d.uid})`);
  if (!d.title?.trim()) out.push(`${file}: no title`);
  if (d.id !== undefined && d.id !== null)
    out.push(`${file}: a database id (${d.id}): it would not import as new`);
  if (JSON.stringify(d).includes('__inputs'))
    out.push(`${file}: __inputs: the datasource variable picks the data source`);
  out.push(...variableProblems(d, file));
  const panels = panelsOf(d.panels);
  const ids = panels.map((p) => p.id);
  if (ids.some((id) => !Number.isInteger(id) || id! <= 0) || new Set(ids).size !== ids.length) {
    out.push(`${file}: panel ids are not unique positive integers`);
  }
  for (const panel of panels)
    out.push(...panelProblems(panel, `${file} panel ${panel.id} "${panel.title}"`));
  out.push(...queryProblems(d, file));
  out.push(...layoutProblems(d.panels ?? [], file));
  return out;
}

/** Each dashboard, and uids unique across them. */
export function lintDashboards(dashboards: ReadonlyMap<string, LintDashboard>): string[] {
  const out: string[] = [];
  const uids = new Map<string, string>();
  for (const [file, d] of dashboards) {
    out.push(...lintDashboard(d, file));
    const other = uids.get(d.uid ?? '');
    if (other) out.push(`${file}: uid ${d.uid} also used by ${other}`);
    uids.set(d.uid ?? '', file);
  }
  return out;
}
