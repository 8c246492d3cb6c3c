// The few Go-template forms the alert annotations use, rendered the way
// Prometheus renders them, so that the promtool tests can state the
// annotations an alert gets (promtool then checks them against the real
// template engine). Anything else in a template is an error here, which
// keeps the annotations to forms this file knows.

/** Go's %.4g, which the humanize functions use; values here stay below 1e4. */
function g4(value: number): string {
  const text = value.toPrecision(4);
  if (text.includes('e')) throw new Error(`%.4g of ${value} needs an exponent: not rendered here`);
  return String(Number(text));
}

/** Prometheus's humanize: SI prefixes, four significant digits. */
export function humanize(value: number): string {
  if (value === 0 || !Number.isFinite(value)) return g4(value);
  let v = value;
  let prefix = '';
  if (Math.abs(v) >= 1) {
    for (const p of ['k', 'M', 'G', 'T', 'P']) {
      if (Math.abs(v) < 1000) break;
      prefix = p;
      v /= 1000;
    }
  } else {
    for (const p of ['m', 'u', 'n', 'p', 'f']) {
      if (Math.abs(v) >= 1) break;
      prefix = p;
      v *= 1000;
    }
  }
  return `${g4(v)}${prefix}`;
}

export function humanizePercentage(value: number): string {
  return `${g4(value * 100)}%`;
}

type Labels = Readonly<Record<string, string>>;

function action(text: string, labels: Labels, value: number): string {
  let match = /^\$labels\.([a-zA-Z_]\w*)$/.exec(text);
  if (match) return labels[match[1]!] ?? '';
  if (text === '$value') return String(value);
  if (text === '$value | humanize') return humanize(value);
  if (text === '$value | humanizePercentage') return humanizePercentage(value);
  match = /^printf "%\.(\d)f" \$value$/.exec(text);
  if (match) return value.toFixed(Number(match[1]));
  throw new Error(`template action {{ ${text} }} is not one templates.ts renders`);
}

/**
 * Renders `{{ $labels.x }}`, `{{ $value }}` with humanize,
 * humanizePercentage or printf "%.Nf", and one level of
 * `{{ if $labels.x }}...{{ else }}...{{ end }}`.
 */
export function render(template: string, labels: Labels, value: number): string {
  const parts = template.split(/(\{\{.*?\}\})/);
  let out = '';
  /** Inside an if: whether its branch being read is the one taken. */
  let taking: boolean | null = null;
  let inIf = false;
  for (const part of parts) {
    const tag = /^\{\{\s*(.*?)\s*\}\}$/.exec(part);
    if (!tag) {
      if (taking !== false) out += part;
      continue;
    }
    const text = tag[1]!;
    const cond = /^if \$labels\.([a-zA-Z_]\w*)$/.exec(text);
    if (cond) {
      if (inIf) throw new Error(`nested {{ if }} in ${template}`);
      inIf = true;
      taking = (labels[cond[1]!] ?? '') !== '';
    } else if (text === 'else' || text === 'end') {
      if (!inIf) throw new Error(`{{ ${text} }} without {{ if }} in ${template}`);
      if (text === 'else') taking = !taking;
      else {
        inIf = false;
        taking = null;
      }
    } else if (taking !== false) {
      out += action(text, labels, value);
    }
  }
  if (inIf) throw new Error(`{{ if }} without {{ end }} in ${template}`);
  return out;
}
