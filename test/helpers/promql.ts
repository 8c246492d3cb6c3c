// A small PromQL scanner for tests: the signals an alert compares (the
// mixin's lint parses PromQL with Prometheus's grammar for the rest).

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
