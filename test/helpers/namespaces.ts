// Test network namespaces: created per test, removed at teardown, so that
// socket counts are exact. Tests that need them skip with a reason when the
// machine cannot (requirements.ts).
import { type ChildProcessWithoutNullStreams, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { SocketHolder } from './holder';

export class Netns {
  readonly path: string;
  private constructor(readonly name: string) {
    this.path = `/var/run/netns/${name}`;
  }

  /** A fresh namespace with loopback up. */
  static create(prefix = 'sdtest'): Netns {
    const name = `${prefix}-${process.pid}-${randomBytes(3).toString('hex')}`;
    execFileSync('ip', ['netns', 'add', name], { stdio: 'pipe' });
    const netns = new Netns(name);
    netns.run('ip', ['link', 'set', 'lo', 'up']);
    return netns;
  }

  /** Runs a command inside the namespace and returns its stdout. */
  run(command: string, args: string[]): string {
    return execFileSync('ip', ['netns', 'exec', this.name, command, ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      maxBuffer: 256 * 1024 * 1024,
    });
  }

  sysctl(name: string, value: string | number): void {
    this.run('sysctl', ['-q', '-w', `${name}=${value}`]);
  }

  readSysctl(name: string): string {
    return this.run('sysctl', ['-n', name]).trim();
  }

  spawn(command: string, args: string[]): ChildProcessWithoutNullStreams {
    return spawn('ip', ['netns', 'exec', this.name, command, ...args], { stdio: 'pipe' });
  }

  /** Starts a socket holder (holder.py) inside the namespace. */
  holder(): SocketHolder {
    return new SocketHolder(this.spawn('python3', [path.join(__dirname, 'holder.py')]));
  }

  destroy(): void {
    try {
      execFileSync('ip', ['netns', 'del', this.name], { stdio: 'pipe' });
    } catch {
      // already gone
    }
  }
}

/**
 * A long-running process started in a namespace (an exporter, Prometheus):
 * its output is kept for error messages, and stop() ends it, forcefully
 * after 5 s.
 */
export class NamespacedProcess {
  private output = '';

  constructor(
    readonly ns: Netns,
    readonly child: ChildProcessWithoutNullStreams,
  ) {
    const keep = (chunk: Buffer) => {
      this.output += chunk.toString();
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
  }

  get log(): string {
    return this.output;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
      this.child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      this.child.kill('SIGTERM');
    });
  }
}

export interface TestNamespaceOptions {
  /** Name prefix, to tell the tests' namespaces apart in `ip netns`. */
  prefix?: string;
  /** Set in the namespace before the holder starts. */
  sysctls?: Record<string, string | number>;
}

/**
 * A fresh namespace with a socket holder for one tap test, both removed at
 * its teardown; `stopFirst` registers processes (an exporter) to end before.
 */
export function testNamespace(
  t: { teardown(fn: () => Promise<void> | void): void },
  options: TestNamespaceOptions = {},
): {
  ns: Netns;
  holder: SocketHolder;
  stopFirst(process: { stop(): Promise<void> } | undefined): void;
} {
  const ns = Netns.create(options.prefix);
  const processes: { stop(): Promise<void> }[] = [];
  let holder: SocketHolder | undefined;
  t.teardown(async () => {
    for (const process of processes.reverse()) await process.stop();
    await holder?.exit();
    ns.destroy();
  });
  for (const [name, value] of Object.entries(options.sysctls ?? {})) ns.sysctl(name, value);
  holder = ns.holder();
  return { ns, holder, stopFirst: (process) => process && processes.push(process) };
}

/** Group bits of the sock_diag (netlink protocol 4) sockets bound to groups in `ns`, from /proc/net/netlink. */
export function diagSubscriptions(ns: Netns): string[] {
  const text = execFileSync('nsenter', [`--net=${ns.path}`, 'cat', '/proc/net/netlink'], {
    encoding: 'utf8',
  });
  // sk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode
  return text
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((f) => f[1] === '4' && f[3] !== undefined && Number.parseInt(f[3], 16) !== 0)
    .map((f) => f[3]!);
}
