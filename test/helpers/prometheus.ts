// A real Prometheus for tests, started inside a test namespace with its
// own storage and queried from inside it.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import YAML from 'yaml';
import { NamespacedProcess, type Netns } from './namespaces';
import { ROOT } from './paths';

export const PROMETHEUS_CONFIG = path.join(ROOT, 'deploy', 'prometheus.yml');
/** The job name deploy/prometheus.yml scrapes the exporter under. */
export const JOB = 'sockdiag';

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
