// PromQL as the mixin writes it: selectors that always carry the scope
// (the config's selector in rules, the job and instance variables in
// dashboards), the kernel counters by their nstat names, and durations.

/** The matchers every selector of one output carries. */
export interface Scope {
  matchers: readonly string[];
}

/**
 * The labels that tell one socket table from another: rules aggregate and
 * join on them. `netns` names another network namespace the exporter
 * scrapes (--collector.netns) and is absent on the host's own series, so
 * the host and each namespace stay apart (a sum over both would mix two
 * kernels' tables, and a join on job and instance alone would match many).
 */
export const BY = 'job, instance, netns';

/** A label value: a string matches exactly, a list as a regex alternation. */
export type Matchers = Readonly<Record<string, string | readonly string[]>>;

function escapeRegex(value: string): string {
  return value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function matcher(label: string, value: string | readonly string[]): string {
  if (typeof value === 'string') return `${label}=${JSON.stringify(value)}`;
  if (value.length === 1) return `${label}=${JSON.stringify(value[0])}`;
  return `${label}=~${JSON.stringify(value.map(escapeRegex).join('|'))}`;
}

/** `name{scope..., matchers...}` */
export function metric(name: string, scope: Scope, matchers: Matchers = {}): string {
  const all = [...scope.matchers, ...Object.entries(matchers).map(([l, v]) => matcher(l, v))];
  return `${name}{${all.join(', ')}}`;
}

/** A selector with one raw matcher added (a regex of the caller's, e.g. `le=~"3600(\\.0)?"`). */
export function metricWith(name: string, scope: Scope, raw: string, matchers: Matchers = {}) {
  return metric(name, { matchers: [...scope.matchers, raw] }, matchers);
}

/**
 * The netstat counters named "group.field" as nstat spells them (and the
 * definitions list them): `sockdiag_netstat_total{group=..., field=...}`.
 * Field names of Tcp and TcpExt never collide, so one selector serves both.
 */
export function netstat(keys: readonly string[], scope: Scope): string {
  const groups = new Set<string>();
  const fields: string[] = [];
  for (const key of keys) {
    const dot = key.indexOf('.');
    if (dot <= 0) throw new Error(`not a group.field counter: ${key}`);
    groups.add(key.slice(0, dot));
    fields.push(key.slice(dot + 1));
  }
  return metric('sockdiag_netstat_total', scope, { group: [...groups], field: fields });
}

/** Seconds as a PromQL duration: 60 -> "1m", 90 -> "90s", 3600 -> "1h". */
export function duration(seconds: number): string {
  if (!Number.isInteger(seconds) || seconds <= 0) {
    throw new Error(`a rule duration must be a whole number of seconds, not ${seconds}`);
  }
  if (seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}

/** A PromQL duration back to seconds ("5m" -> 300). */
export function seconds(text: string): number {
  const match = /^(\d+)(s|m|h|d)$/.exec(text);
  if (!match) throw new Error(`not a simple duration: ${text}`);
  const unit = { s: 1, m: 60, h: 3600, d: 86400 }[match[2] as 's' | 'm' | 'h' | 'd'];
  return Number(match[1]) * unit;
}

/** A threshold as PromQL and Go templates print it: no exponent, no trailing zeros. */
export function num(value: number): string {
  if (!Number.isFinite(value)) throw new Error(`threshold ${value} is not a number`);
  return String(Number(value.toPrecision(12)));
}

/** The bucket bound matcher of a histogram: Prometheus 3 writes `le` as a float ("3600.0"). */
export function leMatcher(bound: number): string {
  const text = num(bound);
  return Number.isInteger(bound) ? `le=~"${text}(\\\\.0)?"` : `le="${text}"`;
}
