// Socket tables that several tests build the same way.
import type { Test } from 'tap';
import { type RunningExporter, startExporter } from './exporter';
import type { SocketHolder } from './holder';
import { type Netns, testNamespace } from './namespaces';

/**
 * The exporter test table: a listener with a connection waiting in its
 * accept queue, an address-bound listener with keepalive clients, IPv6,
 * TIME_WAIT toward one peer port and two UDP sockets.
 */
export async function buildTable(holder: SocketHolder): Promise<void> {
  const web = await holder.send({ op: 'listen', port: 8080, backlog: 16 });
  await holder.send({ op: 'connect', host: '127.0.0.1', port: 8080, count: 4 });
  await holder.send({ op: 'accept', id: web.id, count: 3 }); // one left waiting
  await holder.send({ op: 'listen', host: '127.0.0.2', port: 9000, backlog: 8 });
  await holder.send({ op: 'connect', host: '127.0.0.2', port: 9000, count: 2, keepalive: true });
  const v6 = await holder.send({ op: 'listen', family: 'inet6', host: '::1', port: 8443 });
  await holder.send({ op: 'connect', family: 'inet6', host: '::1', port: 8443 });
  await holder.send({ op: 'accept', id: v6.id });
  await holder.send({ op: 'timewait', port: 7000, count: 5 });
  await holder.send({ op: 'udp', port: 5353 });
}

/** A namespace holding buildTable's table, an exporter in it, and its first /metrics. */
export async function exporterOverTable(t: Test): Promise<{
  ns: Netns;
  exporter: RunningExporter;
  body: string;
}> {
  const { ns, holder, stopFirst } = testNamespace(t);
  await buildTable(holder);
  const exporter = await startExporter(ns);
  stopFirst(exporter);
  const response = exporter.get('/metrics');
  t.equal(response.status, 200, 'GET /metrics');
  return { ns, exporter, body: response.body };
}

/**
 * A service host in miniature: `listeners` listening ports, each with
 * `connections` accepted connections (2 sockets each), so that a scrape
 * has a realistic size (about 120 KB with the defaults: 3,100 sockets).
 */
export async function buildServiceTable(
  holder: SocketHolder,
  listeners = 100,
  connections = 15,
): Promise<void> {
  for (let p = 0; p < listeners; p++) {
    const listener = await holder.send({ op: 'listen', port: 8000 + p, backlog: 64 });
    // Not waiting for each connect: a loopback connect to a listener with
    // room in its queue completes in the kernel at once.
    await holder.send({
      op: 'connect',
      host: '127.0.0.1',
      port: 8000 + p,
      count: connections,
      wait: false,
    });
    await holder.send({ op: 'accept', id: listener.id, count: connections });
  }
}
