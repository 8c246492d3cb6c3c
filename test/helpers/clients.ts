// The hostile and measuring clients of http-clients.js, run inside a test
// namespace next to the exporter, without the test runner's hooks (they
// would slow the client down and blur what it measures).
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import type { Netns } from './namespaces';

const SCRIPT = path.join(__dirname, 'http-clients.js');

function command(mode: string, port: number, options: object): string[] {
  return [
    '-u',
    'NODE_OPTIONS',
    process.execPath,
    SCRIPT,
    mode,
    String(port),
    JSON.stringify(options),
  ];
}

/** Runs a bounded mode to its end and returns what it printed last. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- results are loosely typed JSON
export function runClient(ns: Netns, mode: string, port: number, options: object = {}): any {
  const lines = ns
    .run('env', command(mode, port, options))
    .trim()
    .split('\n');
  return JSON.parse(lines.at(-1)!);
}

/**
 * Starts a mode that reports a first line (hold and fill once they hold
 * their connections, pipeline once it has sent its requests); `release()`
 * closes its stdin (hold and fill let their connections go) and resolves
 * with its last line.
 */
export async function holdClient(
  ns: Netns,
  mode: string,
  port: number,
  options: object = {},
): Promise<{
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- loosely typed JSON
  first: any;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- loosely typed JSON
  release(): Promise<any>;
  child: ChildProcessWithoutNullStreams;
}> {
  const child = ns.spawn('env', command(mode, port, options));
  const lines: string[] = [];
  const waiters: (() => void)[] = [];
  readline.createInterface({ input: child.stdout }).on('line', (line) => {
    lines.push(line);
    waiters.shift()?.();
  });
  const next = () => new Promise<void>((resolve) => waiters.push(resolve));
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  await Promise.race([
    next(),
    new Promise((_, reject) =>
      child.once('exit', () => reject(new Error(`client exited: ${stderr}`))),
    ),
  ]);
  return {
    first: JSON.parse(lines[0]!),
    child,
    async release() {
      const exited =
        child.exitCode !== null
          ? Promise.resolve()
          : new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.stdin.end();
      await exited;
      await new Promise((resolve) => setImmediate(resolve)); // the last 'line' event
      if (lines.length < 2) throw new Error(`client gave no result: ${stderr}`);
      return JSON.parse(lines.at(-1)!);
    },
  };
}
