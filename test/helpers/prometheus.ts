// The shipped Grafana dashboards and Prometheus rules, and a real Prometheus
// to run them against: loaders for grafana/ and deploy/, a small PromQL
// scanner (metric names, selectors, alert signals), and a Prometheus server
// started inside a test namespace and queried from inside it.
import { type ChildProcessWithoutNullStreams, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import YAML from 'yaml';
import { NamespacedProcess, type Netns } from './netns';

export const ROOT = path.join(__dirname, '..', '..');
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
export const PROMETHEUS_CONFIG = path.join(ROOT, 'deploy', 'prometheus.yml');
/** The job name deploy/prometheus.yml scrapes the exporter under. */
export const JOB = 'sockdiag';

/** null when the command is on PATH, else why a test needing it skips. */
export function commandMissing(command: string): string | null {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'pipe' });
    return null;
  } catch {
    return `${command} not installed (Debian package prometheus; scripts/install-deps.sh installs it)`;
  }
}

// ------------------------------------------------------------------ dashboards

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

// ------------------------------------------------------------------ PromQL

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

// ------------------------------------------------------------------ Prometheus

/** Runs a batch of GETs from inside the namespace; one python3 per batch. */
const FETCH_BATCH = `
import json, sys, urllib.error, urllib.parse, urllib.request
base = sys.argv[1]
out = []
for req in json.load(sys.stdin):
    url = base + req["path"]
    if req.get("params"):
        url += "?" + urllib.parse.urlencode(req["params"])
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            out.append({"status": response.status, "body": response.read().decode()})
    except urllib.error.HTTPError as error:
        out.append({"status": error.code, "body": error.read().decode()})
    except Exception as error:
        out.append({"status": 0, "body": str(error)})
json.dump(out, sys.stdout)
`;

export interface ApiRequest {
  path: string;
  params?: Record<string, string>;
}

export interface ApiResponse {
  status: number;
  body: string;
}

export async function fetchInNetns(
  ns: Netns,
  base: string,
  requests: ApiRequest[],
): Promise<ApiResponse[]> {
  const child = spawn('ip', ['netns', 'exec', ns.name, 'python3', '-c', FETCH_BATCH, base], {
    stdio: 'pipe',
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const code = await new Promise<number | null>((resolve) => {
    child.on('close', resolve);
    child.stdin.end(JSON.stringify(requests));
  });
  if (code !== 0) throw new Error(`fetch in ${ns.name} failed (${code}): ${stderr}`);
  return JSON.parse(stdout) as ApiResponse[];
}

export interface QueryResult {
  expr: string;
  /** "success" or "error" (Prometheus's status), or "http NNN". */
  status: string;
  error?: string;
  series: number;
  result: { metric: Record<string, string>; value: [number, string] }[];
}

export interface Alert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: string;
  value: string;
}

export interface RuleStatus {
  name: string;
  query: string;
  type: 'alerting' | 'recording';
  health: string;
  lastError?: string;
  duration?: number;
  labels?: Record<string, string>;
}

export class RunningPrometheus extends NamespacedProcess {
  constructor(
    ns: Netns,
    readonly port: number,
    readonly dir: string,
    child: ChildProcessWithoutNullStreams,
  ) {
    super(ns, child);
  }

  get base(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  fetch(requests: ApiRequest[]): Promise<ApiResponse[]> {
    return fetchInNetns(this.ns, this.base, requests);
  }

  /** Instant queries, one python3 for the whole batch. */
  async query(exprs: string[]): Promise<QueryResult[]> {
    const responses = await this.fetch(
      exprs.map((expr) => ({ path: '/api/v1/query', params: { query: expr } })),
    );
    return responses.map((response, index) => {
      const expr = exprs[index]!;
      let parsed: {
        status: string;
        error?: string;
        data?: { resultType: string; result: QueryResult['result'] };
      };
      try {
        parsed = JSON.parse(response.body);
      } catch {
        return {
          expr,
          status: `http ${response.status}`,
          error: response.body,
          series: 0,
          result: [],
        };
      }
      const result = parsed.data?.resultType === 'vector' ? parsed.data.result : [];
      return { expr, status: parsed.status, error: parsed.error, series: result.length, result };
    });
  }

  async api<T>(apiPath: string): Promise<T> {
    const [response] = await this.fetch([{ path: apiPath }]);
    if (response!.status !== 200)
      throw new Error(`${apiPath}: ${response!.status} ${response!.body}`);
    return (JSON.parse(response!.body) as { data: T }).data;
  }

  async alerts(): Promise<Alert[]> {
    return (await this.api<{ alerts: Alert[] }>('/api/v1/alerts')).alerts;
  }

  async rules(): Promise<RuleStatus[]> {
    const data = await this.api<{ groups: { rules: RuleStatus[] }[] }>('/api/v1/rules');
    return data.groups.flatMap((group) => group.rules);
  }

  override async stop(): Promise<void> {
    await super.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A port nothing listens on in the namespace, chosen by the kernel. */
export function freePort(ns: Netns): number {
  const out = ns.run('python3', [
    '-c',
    'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])',
  ]);
  return Number(out.trim());
}

/**
 * deploy/prometheus.yml made fast for a test: 1 s scrape and evaluation
 * intervals, the exporter at `target`, and the given rule file.
 */
export function testConfig(target: string, rulesPath: string): string {
  const config = YAML.parse(readFileSync(PROMETHEUS_CONFIG, 'utf8')) as {
    global: Record<string, string>;
    rule_files: string[];
    scrape_configs: {
      job_name: string;
      scrape_interval?: string;
      static_configs: { targets: string[] }[];
    }[];
  };
  config.global.scrape_interval = '1s';
  config.global.evaluation_interval = '1s';
  config.rule_files = [rulesPath];
  const job = config.scrape_configs.find((c) => c.job_name === JOB);
  if (!job) throw new Error(`deploy/prometheus.yml has no job ${JOB}`);
  job.scrape_interval = '1s';
  job.static_configs = [{ targets: [target] }];
  return YAML.stringify(config);
}

/**
 * Starts Prometheus inside the namespace with its own storage in a temp
 * dir, on a free port, scraping `target` every second with `rules`
 * (YAML text) loaded; resolves when it is ready.
 */
export async function startPrometheus(
  ns: Netns,
  target: string,
  rules: string,
): Promise<RunningPrometheus> {
  const dir = mkdtempSync(path.join(tmpdir(), 'sdprom-'));
  const rulesPath = path.join(dir, 'alerts.yml');
  writeFileSync(rulesPath, rules);
  const configPath = path.join(dir, 'prometheus.yml');
  writeFileSync(configPath, testConfig(target, rulesPath));
  const port = freePort(ns);
  const child = ns.spawn('prometheus', [
    `--config.file=${configPath}`,
    `--storage.tsdb.path=${path.join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--log.level=warn',
  ]);
  const prometheus = new RunningPrometheus(ns, port, dir, child);
  for (let attempt = 0; attempt < 100; attempt++) {
    if (child.exitCode !== null) {
      await prometheus.stop();
      throw new Error(`prometheus exited: ${prometheus.log}`);
    }
    const [ready] = await prometheus.fetch([{ path: '/-/ready' }]);
    if (ready!.status === 200) return prometheus;
    await sleep(100);
  }
  await prometheus.stop();
  throw new Error(`prometheus did not become ready: ${prometheus.log}`);
}

/** Metric names a /metrics body serves: samples, and every family's TYPE line expanded. */
export function servedNames(body: string): Set<string> {
  const out = new Set<string>();
  for (const line of body.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)/.exec(line);
    if (type) {
      const [, name, kind] = type;
      out.add(name!);
      if (kind === 'histogram') for (const s of ['_bucket', '_sum', '_count']) out.add(name! + s);
      if (kind === 'summary') for (const s of ['_sum', '_count']) out.add(name! + s);
      continue;
    }
    if (line === '' || line.startsWith('#')) continue;
    out.add(/^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)![0]);
  }
  return out;
}

/** Polls `check` every `intervalMs` until it returns true or `timeoutMs` passes. */
export async function pollUntil(
  check: () => Promise<boolean>,
  timeoutMs: number,
  intervalMs = 500,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(intervalMs);
  }
}

/**
 * Sends `count` bare SYNs to host:port from `source`, an address that is
 * routed back into the namespace but assigned to nothing: the SYN-ACKs are
 * lost, and the requests stay half-open (SYN_RECV) for the SYN-ACK retries.
 */
const SYN_FLOOD = `
import random, socket, struct, sys
source, host, port, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
src, dst = socket.inet_aton(source), socket.inet_aton(host)

def checksum(data):
    data += b"\\0" * (len(data) % 2)
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF

raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
for n in range(count):
    mss = struct.pack("!BBH", 2, 4, 1460)
    header = struct.pack("!HHIIBBHHH", 40000 + n, port, random.getrandbits(32), 0, 6 << 4, 0x02, 65535, 0, 0)
    pseudo = src + dst + struct.pack("!BBH", 0, socket.IPPROTO_TCP, len(header + mss))
    tcp = header[:16] + struct.pack("!H", checksum(pseudo + header + mss)) + header[18:] + mss
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), n, 0, 64, socket.IPPROTO_TCP, 0, src, dst)
    raw.sendto(ip + tcp, (host, 0))
`;

export function synFlood(
  ns: Netns,
  options: { source: string; host: string; port: number; count: number },
): void {
  ns.run('python3', [
    '-c',
    SYN_FLOOD,
    options.source,
    options.host,
    String(options.port),
    String(options.count),
  ]);
}
