// The shipped Grafana dashboards and Prometheus rules, loaded for tests.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import type { LintDashboard } from '../../grafana/mixin/lint/dashboards';
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

export interface LoadedDashboard {
  file: string;
  dashboard: LintDashboard;
}

export function loadDashboards(): LoadedDashboard[] {
  return readdirSync(DASHBOARD_DIR)
    .filter((name) => name.endsWith('.json'))
    .sort()
    .map((name) => ({
      file: name,
      dashboard: JSON.parse(readFileSync(path.join(DASHBOARD_DIR, name), 'utf8')) as LintDashboard,
    }));
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
