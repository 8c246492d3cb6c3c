// Runs the built exporter (dist/src/cli/main.js) inside a test namespace and
// scrapes it from inside that namespace, as Prometheus on the host would.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { type Netns, NamespacedProcess } from './namespaces';

const CLI = path.join(__dirname, '..', '..', 'dist', 'src', 'cli', 'main.js');
const FETCH = `
import sys, urllib.request
request = urllib.request.Request(sys.argv[1], headers=dict(h.split(': ', 1) for h in sys.argv[2:]))
try:
    with urllib.request.urlopen(request, timeout=30) as response:
        sys.stdout.write('%d\\n' % response.status)
        sys.stdout.write(response.read().decode())
except urllib.error.HTTPError as error:
    sys.stdout.write('%d\\n' % error.code)
    sys.stdout.write(error.read().decode())
`;

export interface Response {
  status: number;
  body: string;
}

export class RunningExporter extends NamespacedProcess {
  constructor(
    ns: Netns,
    readonly port: number,
    child: ChildProcessWithoutNullStreams,
  ) {
    super(ns, child);
  }

  /** Resident memory now and at its peak (VmRSS, VmHWM), in MiB. */
  memory(): { rss: number; peak: number } {
    const status = readFileSync(`/proc/${this.child.pid}/status`, 'utf8');
    const kib = (field: string) =>
      Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]);
    return { rss: kib('VmRSS') / 1024, peak: kib('VmHWM') / 1024 };
  }

  get(pathAndQuery: string, headers: Record<string, string> = {}): Response {
    const args = ['-c', FETCH, `http://127.0.0.1:${this.port}${pathAndQuery}`];
    for (const [name, value] of Object.entries(headers)) args.push(`${name}: ${value}`);
    const out = this.ns.run('python3', args);
    const newline = out.indexOf('\n');
    return { status: Number(out.slice(0, newline)), body: out.slice(newline + 1) };
  }
}

export interface ExporterOptions {
  /**
   * Run it as in production, for measurements (RSS, latency): without the
   * test runner's NODE_OPTIONS, which load its TypeScript and process-info
   * hooks (a loader thread, source-mapped stack traces) into every child.
   * tap puts them back into the environment of whatever a test spawns, so
   * they are removed by `env -u` inside the namespace.
   */
  production?: boolean;
  /** More environment, e.g. MALLOC_ARENA_MAX. */
  env?: Record<string, string>;
  /** Node's own flags, before the script. */
  nodeArgs?: string[];
  /** Run under `prlimit --nofile=N:N`: an open files limit of N. */
  openFiles?: number;
  /**
   * Enter only the network namespace (nsenter), keeping the cgroup2 mount
   * visible; `ip netns exec` (the default) remounts /sys and hides it.
   */
  keepMounts?: boolean;
  /** Run as this uid and gid, with no supplementary groups (65534: nobody). */
  user?: number;
  /**
   * Run as root with only these capabilities (e.g. ['sys_admin']), as a
   * container that drops all but some does: the bounding set is cut to them.
   */
  capabilities?: string[];
}

export async function startExporter(
  ns: Netns,
  args: string[] = [],
  port = 19561,
  options: ExporterOptions = {},
): Promise<RunningExporter> {
  const env = Object.entries(options.env ?? {}).map(([name, value]) => `${name}=${value}`);
  const node = [process.execPath, ...(options.nodeArgs ?? []), CLI];
  const limit = options.openFiles
    ? ['prlimit', `--nofile=${options.openFiles}:${options.openFiles}`]
    : [];
  const user =
    options.user === undefined
      ? []
      : ['setpriv', `--reuid=${options.user}`, `--regid=${options.user}`, '--clear-groups'];
  const caps = options.capabilities
    ? ['setpriv', `--bounding-set=-all${options.capabilities.map((c) => `,+${c}`).join('')}`]
    : [];
  const command = [
    ...limit,
    ...user,
    ...caps,
    'env',
    ...(options.production ? ['-u', 'NODE_OPTIONS'] : []),
    ...env,
    ...node,
    `--web.listen-address=127.0.0.1:${port}`,
    ...args,
  ];
  const child = options.keepMounts
    ? spawn('nsenter', [`--net=${ns.path}`, ...command], { stdio: 'pipe' })
    : ns.spawn(command[0]!, command.slice(1));
  const exporter = new RunningExporter(ns, port, child);
  for (let attempt = 0; attempt < 100; attempt++) {
    if (child.exitCode !== null) throw new Error(`exporter exited: ${exporter.log}`);
    if (/"msg":"listening"/.test(exporter.log)) return exporter;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await exporter.stop();
  throw new Error(`exporter did not start: ${exporter.log}`);
}

/** Metric lines as name{labels} -> value, for assertions. */
export function parseMetrics(body: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of body.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}
