// Test network namespaces: created per test, removed at teardown, so that
// socket counts are exact. Tests that need them skip with a reason when the
// machine cannot (not root, no `ip netns`).
import { type ChildProcessWithoutNullStreams, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import readline from 'node:readline';

let cachedReason: string | null | undefined;

/** null when namespaces work here, else why not (for `t.skip`-style messages). */
export function netnsUnavailable(): string | null {
  if (cachedReason !== undefined) return cachedReason;
  if (process.getuid?.() !== 0) {
    cachedReason = 'needs root to create network namespaces (run as root, as CI does)';
    return cachedReason;
  }
  const probe = `sdprobe-${randomBytes(3).toString('hex')}`;
  try {
    execFileSync('ip', ['netns', 'add', probe], { stdio: 'pipe' });
    execFileSync('ip', ['netns', 'del', probe], { stdio: 'pipe' });
    cachedReason = null;
  } catch (error) {
    cachedReason = `cannot create network namespaces here: ${String(error).split('\n')[0]}`;
  }
  return cachedReason;
}

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

type Reply = Record<string, unknown> & { ok: boolean; error?: string };

export class SocketHolder {
  private readonly replies: ((reply: Reply) => void)[] = [];
  private stderr = '';
  private exited = false;

  constructor(private readonly child: ChildProcessWithoutNullStreams) {
    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      this.replies.shift()?.(JSON.parse(line) as Reply);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString();
    });
    child.on('exit', () => {
      this.exited = true;
      for (const resolve of this.replies.splice(0)) {
        resolve({ ok: false, error: `holder exited: ${this.stderr}` });
      }
    });
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- replies are loosely typed JSON
  async send(command: Record<string, unknown>): Promise<any> {
    if (this.exited) throw new Error(`holder exited: ${this.stderr}`);
    const reply = await new Promise<Reply>((resolve) => {
      this.replies.push(resolve);
      this.child.stdin.write(`${JSON.stringify(command)}\n`);
    });
    if (!reply.ok) throw new Error(`holder ${String(command.op)} failed: ${reply.error}`);
    return reply;
  }

  async exit(): Promise<void> {
    if (this.exited) return;
    await new Promise<void>((resolve) => {
      this.child.once('exit', () => resolve());
      this.child.stdin.end(`${JSON.stringify({ op: 'exit' })}\n`);
    });
  }
}

/**
 * A fresh namespace with a socket holder for one tap test, both removed at
 * its teardown; `stopFirst` registers processes (an exporter) to end before.
 */
export function testNamespace(t: { teardown(fn: () => Promise<void> | void): void }): {
  ns: Netns;
  holder: SocketHolder;
  stopFirst(process: { stop(): Promise<void> } | undefined): void;
} {
  const ns = Netns.create();
  const holder = ns.holder();
  const processes: { stop(): Promise<void> }[] = [];
  t.teardown(async () => {
    for (const process of processes) await process.stop();
    await holder.exit();
    ns.destroy();
  });
  return { ns, holder, stopFirst: (process) => process && processes.push(process) };
}
