// bcrypt compares off the event loop. bcryptjs is plain JavaScript: one
// compare at cost 10 holds the thread for 50-75 ms, so compares on the loop
// let a wrong-password flood stall every other request, scrapes and
// /healthz included. One worker thread runs them one at a time (as
// exporter-toolkit serialises them behind a mutex); at most `maxWaiting`
// wait, and beyond that the caller is told to come back later.
import { Worker } from 'node:worker_threads';

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const bcrypt = require(workerData.bcrypt);
const dummies = new Map();
parentPort.on('message', ({ id, password, hash, cost }) => {
  let ok = false;
  try {
    // An unknown user is compared against a hash of the same cost as the
    // configured ones, so the answer takes as long as for a known user.
    if (hash === null) {
      if (!dummies.has(cost)) dummies.set(cost, bcrypt.hashSync('no such user', cost));
      bcrypt.compareSync(password, dummies.get(cost));
    } else {
      ok = bcrypt.compareSync(password, hash);
    }
  } catch {
    ok = false;
  }
  parentPort.postMessage({ id, ok });
});
`;

export class BcryptBusyError extends Error {
  constructor(waiting: number) {
    super(`${waiting} password checks are already waiting`);
    this.name = 'BcryptBusyError';
  }
}

interface Reply {
  id: number;
  ok: boolean;
}

export class BcryptPool {
  private worker?: Worker;
  private nextId = 1;
  private readonly pending = new Map<number, (ok: boolean | Error) => void>();

  constructor(private readonly maxWaiting = 256) {}

  /** Checks `password` against `hash`; `hash` null: an unknown user, compared against a dummy of `cost`. */
  compare(password: string, hash: string | null, cost = 10): Promise<boolean> {
    if (this.pending.size >= this.maxWaiting)
      return Promise.reject(new BcryptBusyError(this.pending.size));
    const worker = this.start();
    const id = this.nextId++;
    // Held while a check is pending (its caller waits on it), not otherwise.
    if (this.pending.size === 0) worker.ref();
    return new Promise<boolean>((resolve, reject) => {
      this.pending.set(id, (result) =>
        result instanceof Error ? reject(result) : resolve(result),
      );
      worker.postMessage({ id, password, hash, cost });
    });
  }

  /**
   * Makes the worker's dummy hash of `cost` now, so that the first unknown
   * user is not slower than a known one (making it is one more bcrypt).
   */
  prepare(cost: number): void {
    this.compare('', null, cost).catch(() => {});
  }

  get waiting(): number {
    return this.pending.size;
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    this.settleAll(new Error('the bcrypt worker was stopped'));
    if (worker) await worker.terminate();
  }

  private settleAll(result: Error): void {
    for (const settle of this.pending.values()) settle(result);
    this.pending.clear();
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { bcrypt: require.resolve('bcryptjs') },
    });
    worker.on('message', ({ id, ok }: Reply) => {
      const settle = this.pending.get(id);
      this.pending.delete(id);
      if (this.pending.size === 0) worker.unref();
      settle?.(ok);
    });
    const fail = (error: Error) => {
      if (this.worker !== worker) return; // replaced or closed: its checks were settled then
      this.worker = undefined;
      this.settleAll(error);
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`bcrypt worker exited with code ${code}`)));
    // Last: adding a 'message' listener refs the worker's port again.
    worker.unref(); // idle, it never keeps the process alive
    this.worker = worker;
    return worker;
  }
}
