// The lint of everything the mixin generates: its dashboards and rules.
import YAML from 'yaml';
import { type LintDashboard, lintDashboards } from './dashboards';
import { type LintRuleFile, lintRules } from './rules';

/** Problems in a generated set of files (path relative to grafana/ -> text). */
export function lintOutputs(files: ReadonlyMap<string, string>, selector: string): string[] {
  const dashboards = new Map<string, LintDashboard>();
  const out: string[] = [];
  for (const [file, text] of files) {
    if (file.startsWith('dashboards/')) dashboards.set(file, JSON.parse(text) as LintDashboard);
    if (file === 'alerts.yml') out.push(...lintRules(YAML.parse(text) as LintRuleFile, selector));
  }
  return [...lintDashboards(dashboards), ...out];
}
