// The socket holder: holder.py runs inside a namespace and opens, connects,
// accepts and closes sockets on command (one JSON line each way).
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import readline from 'node:readline';

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
