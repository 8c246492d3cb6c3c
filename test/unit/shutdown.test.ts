// Graceful shutdown on loopback: idle connections and ones holding half a
// request are closed at once, an in-flight scrape finishes and its
// connection is closed after it, and what is left at the grace deadline
// is cut.
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import t from 'tap';
import type { CollectorDefinition } from '../../src/collectors/collector';
import { createServer } from '../../src/http/server';
import { testRegistry } from '../helpers/context';

function waiting(): { definition: CollectorDefinition; release(): void } {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  return {
    release: () => release(),
    definition: {
      name: 'slow',
      help: 'waits for the test',
      defaultEnabled: true,
      options: {},
      create: () => ({
        async collect() {
          await gate;
          return [{ name: 'test_done', help: 'done', type: 'gauge', values: [{ value: 1 }] }];
        },
      }),
    },
  };
}

async function listening(definition: CollectorDefinition) {
  const server = createServer({
    registry: testRegistry([definition]),
    log: pino({ level: 'silent' }),
  });
  await server.app.listen({ port: 0, host: '127.0.0.1' });
  const port = (server.app.server.address() as AddressInfo).port;
  return { server, port };
}

interface Client {
  socket: net.Socket;
  text: string;
  closedAt?: number;
}

async function client(port: number, send?: string): Promise<Client> {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  const state: Client = { socket, text: '' };
  socket.on('data', (chunk) => (state.text += chunk.toString()));
  socket.on('close', () => (state.closedAt = Date.now()));
  socket.on('error', () => {});
  if (send) socket.write(send);
  return state;
}

const GET = 'GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n';

t.test('idle and half-sent connections close at once; in-flight scrapes finish', async (t) => {
  const slow = waiting();
  const { server, port } = await listening(slow.definition);
  const idle = await client(port);
  const partial = await client(port, 'GET /metr');
  const kept = await client(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
  const busy = await client(port, GET);
  await new Promise((resolve) => setTimeout(resolve, 100));
  t.match(kept.text, /^HTTP\/1\.1 200/, 'the kept-alive connection had its answer');
  const started = Date.now();
  const done = server.shutdown(5000);
  await new Promise((resolve) => setTimeout(resolve, 200));
  for (const [name, c] of Object.entries({ idle, partial, kept })) {
    t.ok(c.closedAt !== undefined && c.closedAt - started < 200, `${name}: closed at once`);
  }
  t.equal(busy.closedAt, undefined, 'the in-flight scrape is still open');
  t.notOk(await connectRefusedOr(port), 'no new connections');
  slow.release();
  t.equal(await done, 0, 'nothing cut');
  t.ok(Date.now() - started < 1000, `shutdown took ${Date.now() - started} ms`);
  t.match(busy.text, /^HTTP\/1\.1 200 OK/, 'the scrape was answered');
  t.match(busy.text, /test_done 1/);
  await new Promise((resolve) => setTimeout(resolve, 50));
  t.ok(busy.closedAt !== undefined, 'and its connection closed after');
  await server.app.close();
});

t.test('at the deadline whatever is left is cut', async (t) => {
  const slow = waiting();
  const { server, port } = await listening(slow.definition);
  const busy = await client(port, GET);
  await new Promise((resolve) => setTimeout(resolve, 50));
  const started = Date.now();
  const cut = await server.shutdown(300);
  const took = Date.now() - started;
  t.equal(cut, 1, 'one connection cut');
  t.ok(took >= 290 && took < 800, `after the grace period (${took} ms)`);
  await new Promise((resolve) => setTimeout(resolve, 20));
  t.ok(busy.closedAt !== undefined);
  slow.release();
  await server.app.close();
});

/** true when connecting succeeds (then closes), false when refused. */
function connectRefusedOr(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
