// The shipped Grafana dashboards and Prometheus rules, loaded for tests.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { ROOT } from './paths';

export const DASHBOARD_DIR = path.join(ROOT, 'grafana', 'dashboards');
export const RULES_FILE = path.join(ROOT, 'grafana', 'alerts.yml');
export const RULE_TESTS_FILE = path.join(ROOT, 'grafana', 'tests', 'alerts.test.yml');
export const PROVISIONING_FILE = path.join(
  ROOT,
  'grafana',
  'provisioning',
  'dashboards',
  'sockdiag.yml',
);

export interface Target {
  refId: string;
  expr: string;
  datasource?: { type?: string; uid?: string };
  [key: string]: unknown;
}

export interface Panel {
  id: number;
  type: string;
  title: string;
  description?: string;
  datasource?: { type?: string; uid?: string };
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: Target[];
  fieldConfig?: { defaults?: { unit?: string }; overrides?: unknown[] };
  options?: Record<string, unknown> & { yAxis?: { unit?: string } };
  panels?: Panel[];
}

export interface Variable {
  name: string;
  type: string;
  query?: string | { query?: string };
  definition?: string;
  datasource?: { type?: string; uid?: string } | string;
  includeAll?: boolean;
  allValue?: string;
}

export interface Dashboard {
  uid: string;
  title: string;
  id: number | null;
  schemaVersion: number;
  tags?: string[];
  templating: { list: Variable[] };
  panels: Panel[];
}

export interface LoadedDashboard {
  file: string;
  dashboard: Dashboard;
}

export function loadDashboards(): LoadedDashboard[] {
  return readdirSync(DASHBOARD_DIR)
    .filter((name) => name.endsWith('.json'))
    .sort()
    .map((name) => ({
      file: name,
      dashboard: JSON.parse(readFileSync(path.join(DASHBOARD_DIR, name), 'utf8')) as Dashboard,
    }));
}

/** Every panel, the ones nested in collapsed rows included. */
export function panelsOf(dashboard: Dashboard): Panel[] {
  const out: Panel[] = [];
  const visit = (panels: Panel[]) => {
    for (const panel of panels) {
      out.push(panel);
      if (panel.panels) visit(panel.panels);
    }
  };
  visit(dashboard.panels);
  return out;
}

export function variableQuery(variable: Variable): string | undefined {
  if (typeof variable.query === 'string') return variable.query;
  return variable.query?.query;
}

export interface DashboardQuery {
  /** "overview.json: panel 3 "Title" A" or "overview.json: variable instance". */
  where: string;
  /** PromQL, template variables not yet expanded. */
  expr: string;
}

/** `label_values(SELECTOR, label)` -> SELECTOR, so that it can be run as a query. */
export function labelValuesSelector(query: string): string {
  const match = /^\s*label_values\(\s*(.*?)\s*,\s*[A-Za-z_][A-Za-z0-9_]*\s*\)\s*$/s.exec(query);
  if (!match) throw new Error(`not a label_values() query: ${query}`);
  return match[1]!;
}

/** Every PromQL expression a dashboard runs: panel targets and query variables. */
export function dashboardQueries({ file, dashboard }: LoadedDashboard): DashboardQuery[] {
  const out: DashboardQuery[] = [];
  for (const panel of panelsOf(dashboard)) {
    for (const target of panel.targets ?? []) {
      out.push({
        where: `${file}: panel ${panel.id} "${panel.title}" ${target.refId}`,
        expr: target.expr,
      });
    }
  }
  for (const variable of dashboard.templating.list) {
    const query = variableQuery(variable);
    if (variable.type === 'query' && query) {
      out.push({ where: `${file}: variable ${variable.name}`, expr: labelValuesSelector(query) });
    }
  }
  return out;
}

/**
 * Expands Grafana's template variables the way a dashboard with the given
 * selections would; throws on a variable it does not know.
 */
export function expandTemplate(expr: string, values: Record<string, string>): string {
  const out = expr.replace(/\$\{(\w+)\}|\$(\w+)/g, (whole, braced: string, bare: string) => {
    const name = braced ?? bare;
    const value = values[name];
    if (value === undefined) throw new Error(`unknown template variable ${whole} in ${expr}`);
    return value;
  });
  return out;
}

// ------------------------------------------------------------------ rules

export interface RuleFile {
  groups: {
    name: string;
    interval?: string;
    rules: {
      record?: string;
      alert?: string;
      expr: string;
      for?: string;
      labels?: Record<string, string>;
      annotations?: Record<string, string>;
    }[];
  }[];
}

export function loadRules(): RuleFile {
  return YAML.parse(readFileSync(RULES_FILE, 'utf8')) as RuleFile;
}

export function recordedNames(rules: RuleFile): Set<string> {
  const out = new Set<string>();
  for (const group of rules.groups) {
    for (const rule of group.rules) if (rule.record) out.add(rule.record);
  }
  return out;
}

/** The rule file with every alert's `for:` set to `duration`, as YAML. */
export function rulesWithFor(duration: string): string {
  const rules = loadRules();
  for (const group of rules.groups) {
    for (const rule of group.rules) if (rule.alert) rule.for = duration;
  }
  return YAML.stringify(rules);
}
