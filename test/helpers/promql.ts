// A small PromQL scanner for tests: the metric names and selectors an
// expression uses, and the signals an alert compares.

const KEYWORDS = new Set([
  'and',
  'or',
  'unless',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'offset',
  'inf',
  'nan',
]);
const AGGREGATORS = new Set([
  'sum',
  'min',
  'max',
  'avg',
  'group',
  'stddev',
  'stdvar',
  'count',
  'count_values',
  'bottomk',
  'topk',
  'quantile',
]);
const LABEL_LISTS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);

export interface Selector {
  metric: string;
  /** The text between the braces, "" when there are none. */
  matchers: string;
}

/** End index (exclusive) of the string literal starting at `start`. */
function skipString(expr: string, start: number): number {
  const quote = expr[start];
  let i = start + 1;
  while (i < expr.length && expr[i] !== quote) i += expr[i] === '\\' && quote !== '`' ? 2 : 1;
  return i + 1;
}

/** End index (exclusive) of the bracketed group opening at `start`, strings respected. */
function skipGroup(expr: string, start: number): number {
  const open = expr[start]!;
  const close = ({ '(': ')', '{': '}', '[': ']' } as Record<string, string>)[open]!;
  let depth = 0;
  let i = start;
  while (i < expr.length) {
    const c = expr[i]!;
    if (c === '"' || c === "'" || c === '`') {
      i = skipString(expr, i);
      continue;
    }
    if (c === open) depth++;
    else if (c === close && --depth === 0) return i + 1;
    i++;
  }
  throw new Error(`unbalanced ${open} in ${expr}`);
}

function nextNonSpace(expr: string, from: number): number {
  let i = from;
  while (i < expr.length && /\s/.test(expr[i]!)) i++;
  return i;
}

/** The metric selectors of a PromQL expression: metric names and their matchers. */
export function selectors(expr: string): Selector[] {
  const out: Selector[] = [];
  let i = 0;
  while (i < expr.length) {
    const c = expr[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '#') {
      while (i < expr.length && expr[i] !== '\n') i++;
    } else if (c === '"' || c === "'" || c === '`') {
      i = skipString(expr, i);
    } else if (c === '[') {
      i = skipGroup(expr, i);
    } else if (c === '{') {
      // A selector without a metric name ({__name__=~"..."}): not used here.
      const end = skipGroup(expr, i);
      out.push({ metric: '', matchers: expr.slice(i + 1, end - 1) });
      i = end;
    } else if (c === '$') {
      const match = /^\$\{?\w+\}?/.exec(expr.slice(i));
      i += match ? match[0].length : 1;
    } else if (/[0-9.]/.test(c)) {
      const match = /^[0-9.]+(?:[eE][+-]?[0-9]+)?[a-zA-Z0-9]*/.exec(expr.slice(i));
      i += match![0].length;
    } else if (/[a-zA-Z_:]/.test(c)) {
      const word = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(expr.slice(i))![0];
      i += word.length;
      const next = nextNonSpace(expr, i);
      if (LABEL_LISTS.has(word) && expr[next] === '(') {
        i = skipGroup(expr, next); // a label list, not an expression
      } else if (KEYWORDS.has(word) || AGGREGATORS.has(word) || expr[next] === '(') {
        // operator, aggregation or function name
      } else if (expr[next] === '{') {
        const end = skipGroup(expr, next);
        out.push({ metric: word, matchers: expr.slice(next + 1, end - 1) });
        i = end;
      } else {
        out.push({ metric: word, matchers: '' });
      }
    } else {
      i++;
    }
  }
  return out;
}

export function metricNames(expr: string): string[] {
  return [...new Set(selectors(expr).map((s) => s.metric))].filter((name) => name !== '');
}

/** Strips parentheses that enclose the whole expression. */
function unwrap(expr: string): string {
  let e = expr.trim();
  while (e.startsWith('(') && skipGroup(e, 0) === e.length) e = e.slice(1, -1).trim();
  return e;
}

interface TopLevelToken {
  start: number;
  end: number;
  text: string;
}

/** Binary operators at nesting depth 0 (outside parentheses, braces, brackets, strings). */
function topLevelOperators(expr: string): TopLevelToken[] {
  const out: TopLevelToken[] = [];
  let i = 0;
  while (i < expr.length) {
    const c = expr[i]!;
    if (c === '"' || c === "'" || c === '`') {
      i = skipString(expr, i);
    } else if (c === '(' || c === '{' || c === '[') {
      i = skipGroup(expr, i);
    } else if (/[a-zA-Z_]/.test(c)) {
      const word = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(expr.slice(i))![0];
      if (word === 'and' || word === 'or' || word === 'unless') {
        out.push({ start: i, end: i + word.length, text: word });
      }
      i += word.length;
    } else {
      const op = /^(==|!=|>=|<=|>|<)/.exec(expr.slice(i));
      if (op) {
        out.push({ start: i, end: i + op[0].length, text: op[0] });
        i += op[0].length;
      } else {
        i++;
      }
    }
  }
  return out;
}

/** Skips an `on(...)` / `ignoring(...)` modifier after a set operator. */
function skipMatchingModifier(expr: string, from: number): number {
  const i = nextNonSpace(expr, from);
  const match = /^(on|ignoring)\s*\(/.exec(expr.slice(i));
  if (!match) return i;
  return skipGroup(expr, i + match[0].length - 1);
}

/**
 * The signals an alert expression is built from: it is split at its
 * top-level set operators (or, and, unless), and each part's top-level
 * comparisons become `bool` comparisons. Each signal then returns a series
 * whether the alert fires or not; one that returns nothing names a metric,
 * label or value that is not there, and the alert could never fire.
 */
export function alertSignals(expr: string): string[] {
  const e = unwrap(expr);
  const sets = topLevelOperators(e).filter((op) => /^[a-z]/.test(op.text));
  if (sets.length > 0) {
    const parts: string[] = [];
    let start = 0;
    for (const op of sets) {
      parts.push(e.slice(start, op.start));
      start = skipMatchingModifier(e, op.end);
    }
    parts.push(e.slice(start));
    return parts.flatMap((part) => alertSignals(part));
  }
  let out = '';
  let last = 0;
  for (const op of topLevelOperators(e)) {
    out += `${e.slice(last, op.end)}`;
    if (!/^\s*bool\b/.test(e.slice(op.end))) out += ' bool';
    last = op.end;
  }
  return [(out + e.slice(last)).trim()];
}
