// Helpers for test/package.test.ts: pack the repository as npm would publish
// it, hide the toolchain from a PATH, run an installed exporter in a test
// namespace, and list the files a Debian package could leave behind.
import {
  type ChildProcessWithoutNullStreams,
  execFileSync,
  spawn,
  spawnSync,
} from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { RunningExporter } from './exporter';
import type { Netns } from './namespaces';

import { ROOT } from './paths';

export { ROOT };

/** The environment without the npm_* variables of the `npm test` running us. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!/^npm_/i.test(name)) env[name] = value;
  }
  return { ...env, ...extra };
}

export interface Run {
  status: number | null;
  stdout: string;
  /** stdout then stderr, for messages. */
  output: string;
}

export function run(command: string, args: string[], env = cleanEnv(), cwd = ROOT): Run {
  const result = spawnSync(command, args, {
    cwd,
    env,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error) throw result.error;
  return {
    status: result.status,
    stdout: result.stdout,
    output: `${result.stdout}${result.stderr}`,
  };
}

/**
 * `npm pack` (prepack: prebuildify, the shrinkwrap) on a copy of the
 * repository's files, so the build/ of this checkout is left alone (node-gyp
 * rebuild would clean it, Debug build included). Returns the tarball's path.
 */
export function packTarball(work: string): string {
  const copy = path.join(work, 'source');
  const files = execFileSync(
    'git',
    ['ls-files', '-z', '--cached', '--others', '--exclude-standard'],
    {
      cwd: ROOT,
      encoding: 'utf8',
    },
  )
    .split('\0')
    .filter((file) => file !== '' && fs.existsSync(path.join(ROOT, file)));
  for (const file of files) {
    fs.mkdirSync(path.dirname(path.join(copy, file)), { recursive: true });
    fs.copyFileSync(path.join(ROOT, file), path.join(copy, file));
  }
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(copy, 'node_modules'));
  const pack = run('npm', ['pack', '--pack-destination', work], cleanEnv(), copy);
  if (pack.status !== 0) throw new Error(`npm pack failed:\n${pack.output}`);
  const tarball = fs.readdirSync(work).find((name) => name.endsWith('.tgz'));
  if (!tarball) throw new Error(`npm pack wrote no tarball:\n${pack.output}`);
  return path.join(work, tarball);
}

/** Tools a production host has; no compiler, make or python among them. */
const BASIC_TOOLS = [
  'node',
  'npm',
  'sh',
  'env',
  'cat',
  'ls',
  'mkdir',
  'rm',
  'cp',
  'mv',
  'ln',
  'chmod',
  'uname',
];
export const TOOLCHAIN = [
  'cc',
  'gcc',
  'g++',
  'c++',
  'clang',
  'clang++',
  'make',
  'python3',
  'python',
];

/** A directory of symlinks to the basic tools alone, to use as the whole PATH. */
export function hiddenToolchainPath(dir: string): string {
  fs.mkdirSync(dir, { recursive: true });
  for (const tool of BASIC_TOOLS) {
    const found = execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim();
    fs.symlinkSync(fs.realpathSync(found), path.join(dir, tool));
  }
  return dir;
}

/** Of `tools`, those that `command -v` finds on PATH `pathValue`. */
export function reachable(pathValue: string, tools: string[]): string[] {
  const script = tools.map((tool) => `command -v ${tool} || true`).join('; ');
  const out = execFileSync('/bin/sh', ['-c', script], {
    env: { PATH: pathValue },
    encoding: 'utf8',
  });
  return out.split('\n').filter((line) => line !== '');
}

/** The CLI's file inside an installed package, from its package.json "bin". */
export function binOf(packageDir: string): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(packageDir, 'package.json'), 'utf8'));
  const bin = typeof pkg.bin === 'string' ? pkg.bin : pkg.bin?.['sockdiag-exporter'];
  if (typeof bin !== 'string')
    throw new Error(`${packageDir}/package.json has no sockdiag-exporter bin`);
  return path.join(packageDir, bin);
}

/** Runs `argv` in the namespace (through `ip netns exec`) and waits until the exporter listens. */
export async function startInNamespace(
  ns: Netns,
  argv: string[],
  port: number,
): Promise<RunningExporter> {
  const child: ChildProcessWithoutNullStreams = spawn('ip', ['netns', 'exec', ns.name, ...argv], {
    stdio: 'pipe',
    env: cleanEnv(),
  });
  const exporter = new RunningExporter(ns, port, child);
  for (let attempt = 0; attempt < 200; attempt++) {
    if (child.exitCode !== null) throw new Error(`${argv.join(' ')} exited: ${exporter.log}`);
    if (/"msg":"listening"/.test(exporter.log)) return exporter;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await exporter.stop();
  throw new Error(`${argv.join(' ')} did not start listening: ${exporter.log}`);
}

/** Where a package can put files; volatile caches and apt's lists left out. */
const SNAPSHOT_ROOTS = ['/etc', '/usr', '/opt', '/srv', '/var/lib'];

/** Every path under the snapshot roots, sorted. */
export function fileSnapshot(): string[] {
  const out = execFileSync(
    'find',
    [...SNAPSHOT_ROOTS, '-xdev', '-path', '/var/lib/apt', '-prune', '-o', '-print'],
    {
      encoding: 'utf8',
      maxBuffer: 256 * 1024 * 1024,
    },
  );
  return out
    .split('\n')
    .filter((line) => line !== '')
    .sort();
}

/**
 * Paths that others sharing this machine change while the test runs, and
 * that this package never writes: dpkg's working files of someone else's apt
 * run, Python byte code, global npm and pip installs.
 */
const OTHERS = [
  /^\/var\/lib\/dpkg\/(?!info\/sockdiag-exporter\.)/,
  /\/__pycache__(\/|$)/,
  /^\/usr\/lib\/node_modules\//,
  /^\/usr\/local\//,
];

/**
 * Paths added or removed between two snapshots, less those that another
 * Debian package owns now (an apt run of someone else on this machine) and
 * those in OTHERS.
 */
export function changedPaths(before: string[], after: string[]): string[] {
  const was = new Set(before);
  const is = new Set(after);
  const changed = [...after.filter((p) => !was.has(p)), ...before.filter((p) => !is.has(p))].filter(
    (p) => !OTHERS.some((pattern) => pattern.test(p)),
  );
  if (changed.length === 0) return [];
  // One query for all: "pkg1, pkg2: /path" per owned path; unowned ones go to stderr.
  const owners = new Map<string, string>();
  const query = spawnSync('dpkg-query', ['-S', ...changed], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  for (const line of query.stdout.split('\n')) {
    const at = line.indexOf(': /');
    if (at > 0) owners.set(line.slice(at + 2), line.slice(0, at));
  }
  return changed.filter((p) => {
    const owner = owners.get(p);
    return (
      owner === undefined ||
      owner.split(', ').some((name) => name.split(':')[0] === 'sockdiag-exporter')
    );
  });
}

/** dpkg, retried while another dpkg or apt holds its lock (others share this machine). */
export async function dpkg(args: string[]): Promise<Run> {
  for (let attempt = 0; ; attempt++) {
    const result = run('dpkg', args, cleanEnv({ DEBIAN_FRONTEND: 'noninteractive' }));
    if (result.status === 0 || !/lock/i.test(result.output) || attempt >= 60) return result;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

/**
 * Takes an exclusive lock file, so that two runs of the suite on one machine
 * do not install and purge the same package under each other; returns its
 * release. A lock whose holder died is taken over.
 */
export async function machineLock(file: string): Promise<() => void> {
  for (let attempt = 0; ; attempt++) {
    try {
      fs.writeFileSync(file, String(process.pid), { flag: 'wx' });
      return () => fs.rmSync(file, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number(fs.readFileSync(file, 'utf8'));
      if (!processAlive(holder)) fs.rmSync(file, { force: true });
      else if (attempt >= 300) throw new Error(`${file} held by pid ${holder} for 5 minutes`);
      else await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
