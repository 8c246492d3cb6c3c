// PromQL as the lint sees it, parsed by Prometheus's own grammar
// (@prometheus-io/lezer-promql): syntax errors, and every selector with its
// matchers, its range and the function it is an argument of.
// The package is an ES module with a CommonJS build (its `require` export),
// which TypeScript's CommonJS output cannot import by name: load that build.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { parser } = require('@prometheus-io/lezer-promql') as typeof import(
  '@prometheus-io/lezer-promql',
  {
    with: { 'resolution-mode': 'import' },
  }
);

/** Grafana's interval variables, replaced by durations nobody writes so they can be told apart. */
const INTERVALS: Readonly<Record<string, string>> = {
  __rate_interval: '7777s',
  __range: '8888s',
  __interval: '9999s',
};
const BACK = new Map(Object.entries(INTERVALS).map(([name, sentinel]) => [sentinel, `$${name}`]));

export interface Matcher {
  label: string;
  op: string;
  value: string;
}

export interface SelectorUse {
  metric: string;
  matchers: Matcher[];
  /** `[5m]`, `[$__rate_interval]`; null for an instant selector. */
  range: string | null;
  /** The function whose argument the selector (or its range) is, if any. */
  fn: string | null;
}

export interface Parsed {
  errors: string[];
  selectors: SelectorUse[];
}

interface Node {
  name: string;
  from: number;
  to: number;
  parent: Node | null;
  children: Node[];
}

function tree(text: string): { root: Node; errors: string[] } {
  const root: Node = { name: 'root', from: 0, to: text.length, parent: null, children: [] };
  const errors: string[] = [];
  let current = root;
  parser.parse(text).iterate({
    enter(ref) {
      if (ref.type.isError) {
        errors.push(
          `syntax error at ${ref.from}: "${text.slice(Math.max(0, ref.from - 20), ref.from + 10)}"`,
        );
      }
      const node: Node = {
        name: ref.type.name,
        from: ref.from,
        to: ref.to,
        parent: current,
        children: [],
      };
      current.children.push(node);
      current = node;
    },
    leave() {
      current = current.parent ?? root;
    },
  });
  return { root, errors };
}

function unquote(literal: string): string {
  if (literal.startsWith('`')) return literal.slice(1, -1);
  try {
    return JSON.parse(literal.startsWith("'") ? `"${literal.slice(1, -1)}"` : literal) as string;
  } catch {
    return literal.slice(1, -1);
  }
}

function child(node: Node, name: string): Node | undefined {
  return node.children.find((c) => c.name === name);
}

function selectorUse(node: Node, text: string): SelectorUse {
  const slice = (n: Node) => text.slice(n.from, n.to);
  const ident = child(node, 'Identifier');
  const matchers: Matcher[] = [];
  for (const m of child(node, 'LabelMatchers')?.children ?? []) {
    const label = child(m, 'LabelName') ?? child(m, 'QuotedLabelName');
    const op = child(m, 'MatchOp');
    const value = child(m, 'StringLiteral');
    if (label && op && value) {
      matchers.push({
        label: slice(label).replace(/"/g, ''),
        op: slice(op),
        value: unquote(slice(value)),
      });
    }
  }
  let range: string | null = null;
  let up = node.parent;
  if (up?.name === 'MatrixSelector') {
    const duration = up.children.find(
      (c) => c.name === 'DurationExpr' || c.name.startsWith('Number'),
    );
    if (duration) range = BACK.get(slice(duration)) ?? slice(duration);
    up = up.parent;
  }
  let fn: string | null = null;
  if (up?.name === 'FunctionCallBody' && up.parent?.name === 'FunctionCall') {
    const id = child(up.parent, 'FunctionIdentifier');
    if (id) fn = slice(id);
  }
  return { metric: ident ? slice(ident) : '', matchers, range, fn };
}

/** Parses one expression; Grafana's interval variables are allowed where durations go. */
export function parsePromql(expr: string): Parsed {
  const text = expr.replace(
    /\$\{?(__rate_interval|__range|__interval)\}?/g,
    (_, name: string) => INTERVALS[name]!,
  );
  const { root, errors } = tree(text);
  const selectors: SelectorUse[] = [];
  const visit = (node: Node) => {
    if (node.name === 'VectorSelector') selectors.push(selectorUse(node, text));
    node.children.forEach(visit);
  };
  visit(root);
  if (selectors.length === 0 && errors.length === 0) errors.push('names no series');
  return { errors, selectors };
}

/** Counter families end in _total (the exporter's are all so named, test/e2e checks it). */
export function isCounter(metric: string): boolean {
  return metric.endsWith('_total');
}

export const COUNTER_FUNCTIONS = new Set(['rate', 'irate', 'increase']);

/** Problems every expression may have: syntax, counters outside rate() and increase(). */
export function exprProblems(expr: string, where: string): { problems: string[]; parsed: Parsed } {
  const parsed = parsePromql(expr);
  const problems = parsed.errors.map((e) => `${where}: ${e} in ${expr}`);
  for (const s of parsed.selectors) {
    if (isCounter(s.metric) && !(s.fn && COUNTER_FUNCTIONS.has(s.fn) && s.range)) {
      problems.push(`${where}: counter ${s.metric} outside rate()/increase()`);
    }
  }
  return { problems, parsed };
}
