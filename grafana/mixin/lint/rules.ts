// The rule lint, after mixtool's: every alert has a CamelCase name, a
// severity of info, warning or critical, a `for:`, a one-sentence summary
// and a description that is templated (names the labels or value) and
// renders; every recording rule is named level:metric:operations; every
// expression is valid PromQL, selects the exporter's series with the
// config's selector, and reads counters only through rate()/increase().
import { render } from '../templates';
import { exprProblems } from './promql';

export const SEVERITIES = new Set(['info', 'warning', 'critical']);

export interface LintRule {
  alert?: string;
  record?: string;
  expr?: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface LintRuleFile {
  groups?: { name?: string; rules?: LintRule[] }[];
}

/** One sentence: one line, ends with a full stop, no sentence break inside. */
export function oneSentence(text: string): boolean {
  const plain = text.replace(/\{\{.*?\}\}/g, 'x');
  return (
    plain.length > 0 &&
    plain.length <= 160 &&
    !plain.includes('\n') &&
    plain.endsWith('.') &&
    !/[.!?]\s+[A-Z]/.test(plain.slice(0, -1))
  );
}

function alertProblems(rule: LintRule, where: string): string[] {
  const out: string[] = [];
  if (!/^[A-Z][a-z0-9]+(?:[A-Z][a-z0-9]*)+$/.test(rule.alert ?? '')) {
    out.push(`${where}: the name is not CamelCase`);
  }
  if (!SEVERITIES.has(rule.labels?.severity ?? '')) {
    out.push(`${where}: severity ${rule.labels?.severity} is not info, warning or critical`);
  }
  if (!/^\d+[smhd]$/.test(rule.for ?? '')) out.push(`${where}: no for: duration`);
  const summary = rule.annotations?.summary ?? '';
  const description = rule.annotations?.description ?? '';
  if (!oneSentence(summary)) out.push(`${where}: the summary is not one sentence`);
  if (!/\{\{ *(\$labels\.|\$value|printf)/.test(description)) {
    out.push(`${where}: the description is not templated`);
  }
  for (const [name, text] of [
    ['summary', summary],
    ['description', description],
  ] as const) {
    try {
      render(text, {}, 1);
    } catch (error) {
      out.push(`${where}: ${name}: ${(error as Error).message}`);
    }
  }
  return out;
}

/** `selector` is the config's, e.g. `job="sockdiag"`: every selector must carry it. */
export function lintRules(file: LintRuleFile, selector: string): string[] {
  const out: string[] = [];
  const names = new Set<string>();
  const want = /^(\w+)(=~|!=|!~|=)"(.*)"$/.exec(selector.trim());
  for (const group of file.groups ?? []) {
    for (const rule of group.rules ?? []) {
      const name = rule.alert ?? rule.record ?? '(unnamed)';
      const where = `${group.name} ${name}`;
      if (names.has(name)) out.push(`${where}: defined twice`);
      names.add(name);
      if (rule.alert) out.push(...alertProblems(rule, where));
      else if (!/^[a-z_]+:[a-z_]+:[a-z0-9_]+$/.test(rule.record ?? '')) {
        out.push(`${where}: a recording rule not named level:metric:operations`);
      }
      const { problems, parsed } = exprProblems(rule.expr ?? '', where);
      out.push(...problems);
      if (!want) continue;
      for (const s of parsed.selectors) {
        const ok = s.matchers.some(
          (m) => m.label === want[1] && m.op === want[2] && m.value === want[3],
        );
        if (!ok) out.push(`${where}: ${s.metric} without the selector ${selector}`);
      }
    }
  }
  return out;
}
