// The per-connection gate on loopback: pipelined requests are answered in
// order, one at a time; past 8 waiting the connection is closed before
// Node parses the excess (the application never sees them).
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import t from 'tap';
import type { CollectorDefinition } from '../../src/collectors/collector';
import { createServer } from '../../src/http/server';
import { testRegistry } from '../helpers/context';

const log = pino({ level: 'silent' });

async function listening(definitions: CollectorDefinition[] = []) {
  const server = createServer({ registry: testRegistry(definitions), log });
  const seen: string[] = [];
  server.app.addHook('onRequest', async (request) => {
    seen.push(request.url);
  });
  await server.app.listen({ port: 0, host: '127.0.0.1' });
  t.teardown(() => server.app.close());
  return { port: (server.app.server.address() as AddressInfo).port, seen };
}

/** Writes `text` at once and collects what comes back until the server closes or `ms` pass. */
function exchange(
  port: number,
  text: string,
  ms = 1000,
): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(text));
    let received = '';
    socket.on('data', (chunk) => (received += chunk.toString()));
    socket.on('error', () => {});
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ text: received, closed: false });
    }, ms);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ text: received, closed: true });
    });
  });
}

const request = (path: string) => `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`;

const order: string[] = [];
const slow: CollectorDefinition = {
  name: 'slow',
  help: 'takes a while',
  defaultEnabled: true,
  options: {},
  create: () => ({
    async collect() {
      order.push('scrape starts');
      await new Promise((resolve) => setTimeout(resolve, 100));
      order.push('scrape ends');
      return [];
    },
  }),
};

t.test('pipelined requests: in order, one at a time', async (t) => {
  const { port, seen } = await listening([slow]);
  const result = await exchange(port, request('/metrics') + request('/healthz').repeat(8), 1500);
  const statuses = result.text.match(/^HTTP\/1\.1 \d+/gm) ?? [];
  t.equal(statuses.length, 9, 'nine answers (one in flight and eight waiting is the limit)');
  t.ok(
    result.text.indexOf('sockdiag_scrape_collector_success') < result.text.indexOf('ok\n'),
    'in order',
  );
  t.same(seen.slice(0, 2), ['/metrics', '/healthz']);
  t.same(order, ['scrape starts', 'scrape ends']);
});

t.test('past 8 waiting, the connection is closed before the excess is parsed', async (t) => {
  const { port, seen } = await listening([slow]);
  const result = await exchange(port, request('/healthz').repeat(200));
  t.ok(result.closed, 'closed');
  t.equal(seen.length, 0, 'the application saw none of the 200');
  const after = await exchange(port, request('/healthz'), 500);
  t.match(after.text, /^HTTP\/1\.1 200/, 'others are served');
  // A request end split across two writes still counts (the scrapes are
  // slow, so none is done when the second write comes).
  seen.length = 0;
  const split = await new Promise<boolean>((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write(request('/metrics').repeat(9).slice(0, -2));
      setTimeout(() => socket.write(`\r\n${request('/metrics')}`), 30);
    });
    socket.on('error', () => {});
    socket.on('close', () => resolve(true));
    setTimeout(() => {
      socket.destroy();
      resolve(false);
    }, 1000);
  });
  t.ok(split, 'ten requests across two chunks: closed too');
  t.same(seen, ['/metrics'], 'only the first reached the application');
});
