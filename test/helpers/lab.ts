// An incident lab: a namespace with its sysctls, a socket holder and the
// exporter scraped over HTTP, with the kernel's own tools beside it (`ss`,
// `nstat -az` with a private history) to hold the evidence against. The
// exporter samples its counters every 0.5 s here, so a rate has a baseline
// half a second after it starts.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Test } from 'tap';
import { parseMetrics, type RunningExporter, startExporter } from './exporter';
import type { SocketHolder } from './holder';
import { type Netns, testNamespace } from './namespaces';
import { CLI } from './paths';
import { parseSs, type SsRow } from './ss';

export const EXPORTER_PORT = 19561;
/** Fast sampling for tests: rates over at most 60 s, from samples 0.5 s apart. */
export const FAST_SAMPLES = ['--collector.incidents.sample-interval=0.5'];

export interface LabFinding {
  incident: string;
  severity: string;
  fired: boolean;
  notice: boolean;
  evaluated: boolean;
  reason?: string;
  cause?: string;
  details: string[];
  remedy: string;
  evidence: { name: string; value: number; unit: string }[];
}

export interface LabReport {
  healthy: boolean;
  status: string;
  findings: LabFinding[];
  recent: { incident: string; lastAt: number; cause?: string }[];
}

export class Scrape {
  constructor(
    readonly metrics: Map<string, number>,
    readonly body: string,
  ) {}

  detected(incident: string): number | undefined {
    return this.metrics.get(`sockdiag_incident_detected{incident="${incident}"}`);
  }

  evaluated(incident: string): number | undefined {
    return this.metrics.get(`sockdiag_incident_evaluated{incident="${incident}"}`);
  }

  evidence(incident: string, name: string): number | undefined {
    return this.metrics.get(
      `sockdiag_incident_evidence{incident="${incident}",evidence="${name}"}`,
    );
  }
}

export class Lab {
  private readonly tmp = mkdtempSync(path.join(tmpdir(), 'sdincident-'));
  holder!: SocketHolder;
  exporter!: RunningExporter;

  private constructor(readonly ns: Netns) {}

  static async create(
    t: Test,
    options: { sysctls?: Record<string, string | number>; args?: string[] } = {},
  ): Promise<Lab> {
    const { ns, holder, stopFirst } = testNamespace(t, {
      prefix: 'sdinc',
      sysctls: options.sysctls ?? {},
    });
    const lab = new Lab(ns);
    t.teardown(() => rmSync(lab.tmp, { recursive: true, force: true }));
    lab.holder = holder;
    lab.exporter = await startExporter(
      ns,
      [...FAST_SAMPLES, ...(options.args ?? [])],
      EXPORTER_PORT,
    );
    stopFirst(lab.exporter);
    // The service's first counter sample, and one interval for a baseline.
    await sleep(600);
    return lab;
  }

  scrape(): Scrape {
    const response = this.exporter.get('/metrics');
    if (response.status !== 200) throw new Error(`scrape: ${response.status} ${response.body}`);
    return new Scrape(parseMetrics(response.body), response.body);
  }

  doctorJson(): LabReport {
    const response = this.exporter.get('/doctor', { Accept: 'application/json' });
    if (response.status !== 200) throw new Error(`/doctor: ${response.status} ${response.body}`);
    return JSON.parse(response.body) as LabReport;
  }

  doctorText(): string {
    return this.exporter.get('/doctor').body;
  }

  /**
   * Waits (5 s at most) until the listener on `port` has its process named:
   * the owner scan runs within a budget per second shared by every caller,
   * so the scrapes of the first second may not have it yet.
   */
  async ownerOf(port: number, timeoutMs = 5000): Promise<string | null> {
    const deadline = Date.now() + timeoutMs;
    const pattern = new RegExp(
      `^sockdiag_listener_owner_info\\{[^}]*port="${port}",process="([^"]+)"`,
      'm',
    );
    for (;;) {
      const body = this.exporter.get('/metrics?collect[]=listeners').body;
      const match = pattern.exec(body);
      if (match) return match[1]!;
      if (Date.now() >= deadline) return null;
      await sleep(200);
    }
  }

  finding(incident: string): LabFinding {
    const found = this.doctorJson().findings.find((f) => f.incident === incident);
    if (!found) throw new Error(`/doctor has no ${incident}`);
    return found;
  }

  /** `nstat -az` in the namespace: absolute values, e.g. "TcpExtListenOverflows". */
  nstat(): Map<string, number> {
    const out = this.ns.run('env', [
      `NSTAT_HISTORY=${path.join(this.tmp, 'nstat.history')}`,
      'nstat',
      '-azj',
    ]);
    return new Map(Object.entries(JSON.parse(out).kernel as Record<string, number>));
  }

  /** `ss -H ARGS`, rows other than the exporter's own connections. */
  ss(args: string[]): SsRow[] {
    return parseSs(this.ns.run('ss', ['-H', ...args])).filter(
      (row) => row.localPort !== EXPORTER_PORT && row.peerPort !== EXPORTER_PORT,
    );
  }

  /** Lines of `ss -Htan state STATE [filter]` (a state filter drops ss's State column). */
  ssCount(state: string, filter: string[] = []): number {
    return this.ns
      .run('ss', ['-Htan', 'state', state, ...filter])
      .split('\n')
      .filter((line) => line.trim() !== '').length;
  }

  /** Runs `sockdiag-exporter doctor` in the namespace; its exit status and output. */
  doctor(args: string[]): { status: number; stdout: string } {
    try {
      return { status: 0, stdout: this.ns.run(process.execPath, [CLI, 'doctor', ...args]) };
    } catch (error) {
      const { status, stdout } = error as { status: number; stdout: string };
      return { status, stdout: String(stdout) };
    }
  }
}

/** nstat's name for an exporter key: "TcpExt.ListenOverflows" -> "TcpExtListenOverflows". */
export function rise(before: Map<string, number>, after: Map<string, number>, key: string): number {
  const name = key.replace('.', '');
  const a = after.get(name);
  const b = before.get(name);
  if (a === undefined || b === undefined) throw new Error(`nstat has no ${name}`);
  return a - b;
}

/** The check is evaluated on this scrape and did not fire. */
export function assertSilent(t: Test, scrape: Scrape, incident: string, when: string): void {
  t.equal(scrape.evaluated(incident), 1, `${incident} evaluated ${when}`);
  t.equal(scrape.detected(incident), 0, `${incident} silent ${when}`);
}

/**
 * Counter rises in the evidence equal nstat's: the exporter's window starts
 * at its first sample, `before` was read after that and before the event,
 * and `after` after the event, before the scrape.
 */
export function assertRises(
  t: Test,
  scrape: Scrape,
  incident: string,
  keys: string[],
  before: Map<string, number>,
  after: Map<string, number>,
): void {
  for (const key of keys) {
    t.equal(
      scrape.evidence(incident, `${key} increase`),
      rise(before, after, key),
      `${incident}: ${key} increase equals nstat's`,
    );
  }
}

/** TCP sockets with a non-zero drop counter in `ss -tanm` (listeners aside), and their sum. */
export function dropsBySs(lab: Lab): { sockets: number; drops: number } {
  const drops = parseSs(lab.ns.run('ss', ['-Htanm']))
    .filter((row) => row.state !== 'listen')
    .map((row) => row.skmem?.d ?? 0)
    .filter((d) => d > 0);
  return { sockets: drops.length, drops: drops.reduce((sum, d) => sum + d, 0) };
}
