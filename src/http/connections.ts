// What a connection may cost, and how connections end.
//
// Node's HTTP server parses every pipelined request in a chunk at once and
// hands each to the handler immediately, queueing the responses in memory
// until the client reads: 100 connections that write 200 requests each and
// never read made 20,000 scrapes render at once (over 1 GiB). The gate
// below passes one request per connection at a time to the application,
// and the next only once the previous response has reached the kernel (its
// 'close' event follows the write callback) and the socket's own buffer has
// drained. A client that does not read therefore stops costing work once
// the kernel's buffers are full; the requests it queued wait, and the
// server's inactivity timeout ends it.
//
// A client with more than `maxPipelined` requests waiting is closed: no
// scraper pipelines. It is closed before Node's parser sees the excess
// (screen() counts request ends in the bytes as they arrive): every
// request Node parses costs a request and a response object, and an error
// with a stack trace when the connection closes under it, and 20,000 of
// them held the event loop for most of a second.
//
// Shutdown stops accepting, closes every connection with no request in
// flight (idle keep-alive ones, those with half a request, and those whose
// response is complete but half-sent to a client that does not read), lets
// the scrapes in flight finish and then closes their connections, and at
// the grace deadline destroys whatever is left.
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { RateLimitedLog } from './rate-limited-log';

interface Connection {
  /** A request of this connection is being answered or its response is still being written. */
  busy: boolean;
  /** The response being answered, while busy. */
  current?: ServerResponse;
  waiting: [IncomingMessage, ServerResponse][];
  /** Request ends ("\r\n\r\n") seen in the bytes received, and responses done with. */
  seen: number;
  done: number;
}

const END_OF_HEADERS = Buffer.from('\r\n\r\n');

/** Request ends in `chunk`, counting one that straddles `tail` (the previous chunk's last 3 bytes). */
function requestEnds(tail: Buffer, chunk: Buffer): number {
  const bytes = tail.length > 0 ? Buffer.concat([tail, chunk]) : chunk;
  let count = 0;
  for (
    let at = bytes.indexOf(END_OF_HEADERS);
    at >= 0;
    at = bytes.indexOf(END_OF_HEADERS, at + 4)
  ) {
    count++;
  }
  return count;
}

type Handler = (request: IncomingMessage, response: ServerResponse) => void;

const DEFAULT_MAX_PIPELINED = 8;

export class ConnectionGuard {
  /** Accepted sockets. */
  private readonly sockets = new Set<Socket>();
  /** The sockets requests arrive on: the accepted ones, or with TLS the TLS sockets. */
  private requestSockets = new Set<Socket>();
  private readonly connections = new WeakMap<Socket, Connection>();
  private readonly maxPipelined: number;
  private readonly refusals: RateLimitedLog;
  private readonly acceptErrors: RateLimitedLog;
  private closing = false;
  private server?: Server;

  /** `maxPipelined`: requests a connection may have waiting behind the one being answered. */
  constructor(
    private readonly log: Logger,
    maxPipelined = DEFAULT_MAX_PIPELINED,
  ) {
    this.maxPipelined = maxPipelined;
    this.refusals = new RateLimitedLog(log, 10_000);
    this.acceptErrors = new RateLimitedLog(log, 10_000);
  }

  /** Connections open now (accepted, not yet closed). */
  get open(): number {
    return this.sockets.size;
  }

  /**
   * Watches `server`'s connections; call once, before it listens. With TLS,
   * requests arrive on the TLS socket made after the handshake, not on the
   * accepted one: shutdown looks those up, and leaves connections still in
   * their handshake to the deadline.
   */
  attach(server: Server, effectiveMaxConnections: number, why: string, tls: boolean): void {
    this.server = server;
    if (effectiveMaxConnections > 0) server.maxConnections = effectiveMaxConnections;
    track(server, 'connection', this.sockets);
    if (tls) track(server, 'secureConnection', this.requestSockets);
    else this.requestSockets = this.sockets;
    // After Node's own listener for the event, which has set the socket up.
    server.on(tls ? 'secureConnection' : 'connection', (socket: Socket) => this.screen(socket));
    // Node closes a connection over maxConnections itself; say so.
    server.on('drop', (data?: { remoteAddress?: string }) => {
      this.refusals.warn(
        { limit: effectiveMaxConnections, remote: data?.remoteAddress },
        `connection refused: ${effectiveMaxConnections} connections are open (${why})`,
      );
    });
    // libuv sheds connections it cannot accept for lack of descriptors
    // silently; when it does report the failure, log it instead of crashing.
    server.on('error', (error: NodeJS.ErrnoException) => {
      const code = error.code ?? '';
      const message =
        code === 'EMFILE' || code === 'ENFILE'
          ? `cannot accept connections: out of file descriptors (${code}); raise LimitNOFILE or lower --web.max-connections`
          : `server error: ${error.message}`;
      this.acceptErrors.error({ code, syscall: error.syscall, open: this.open }, message);
    });
  }

  private connectionOf(socket: Socket): Connection {
    let connection = this.connections.get(socket);
    if (!connection) {
      const created: Connection = { busy: false, waiting: [], seen: 0, done: 0 };
      socket.once('close', () => {
        created.waiting.length = 0;
      });
      this.connections.set(socket, created);
      connection = created;
    }
    return connection;
  }

  /**
   * Puts a filter between the socket and Node's HTTP parser: Node reads a
   * connection through one 'data' listener of its own (once a listener is
   * added, it leaves its native fast path for that one), and the filter
   * hands it each chunk unless the chunk takes the connection past
   * `maxPipelined` waiting requests, in which case the connection is
   * closed unparsed. Anything other than that one listener means a Node
   * this was not written for: the gate's own limit then stands alone.
   */
  private screen(socket: Socket): void {
    const listeners = socket.listeners('data');
    const parse = listeners[0] as ((chunk: Buffer) => void) | undefined;
    if (listeners.length !== 1 || !parse) return;
    const connection = this.connectionOf(socket);
    let tail = Buffer.alloc(0);
    socket.removeListener('data', parse);
    socket.on('data', (chunk: Buffer) => {
      connection.seen += requestEnds(tail, chunk);
      tail = Buffer.from(chunk.subarray(Math.max(0, chunk.length - 3)));
      if (connection.seen - connection.done > this.maxPipelined + 1) {
        this.log.debug(
          { waiting: connection.seen - connection.done },
          'closing a connection that pipelines too deep',
        );
        socket.destroy();
        return;
      }
      parse(chunk);
    });
  }

  /** Wraps the application's request handler with the per-connection gate. */
  gate(next: Handler): Handler {
    return (request, response) => {
      const socket = request.socket;
      // The rest of a chunk of pipelined requests whose connection was cut.
      if (socket.destroyed) return;
      const connection = this.connectionOf(socket);
      if (this.closing && !connection.busy) {
        refuseClosing(response);
        return;
      }
      if (connection.busy) {
        this.queue(socket, connection, request, response);
        return;
      }
      this.start(socket, connection, request, response, next);
    };
  }

  private queue(
    socket: Socket,
    connection: Connection,
    request: IncomingMessage,
    response: ServerResponse,
  ): void {
    if (connection.waiting.length >= this.maxPipelined) {
      this.log.debug(
        { waiting: connection.waiting.length },
        'closing a connection that pipelines too deep',
      );
      socket.destroy();
      return;
    }
    connection.waiting.push([request, response]);
  }

  private start(
    socket: Socket,
    connection: Connection,
    request: IncomingMessage,
    response: ServerResponse,
    next: Handler,
  ): void {
    connection.busy = true;
    connection.current = response;
    response.once('close', () => {
      connection.done++;
      this.afterResponse(socket, connection, next);
    });
    next(request, response);
  }

  /**
   * A handler is still producing this connection's response. A response
   * that is complete but still being written (to a client that reads
   * slowly or not at all) does not count: Node's server.close() closes such
   * connections too.
   */
  private inFlight(socket: Socket): boolean {
    const current = this.connections.get(socket)?.current;
    return current !== undefined && !current.writableEnded;
  }

  private afterResponse(socket: Socket, connection: Connection, next: Handler): void {
    if (socket.destroyed) return;
    if (socket.writableLength > socket.writableHighWaterMark) {
      socket.once('drain', () => this.afterResponse(socket, connection, next));
      return;
    }
    connection.busy = false;
    connection.current = undefined;
    if (this.closing) {
      connection.waiting.length = 0;
      socket.end();
      return;
    }
    const following = connection.waiting.shift();
    if (following) this.start(socket, connection, following[0], following[1], next);
  }

  /**
   * Stops accepting and closes connections as described at the top;
   * resolves when all are gone, destroying the rest after `graceMs`.
   * Returns how many had to be destroyed at the deadline.
   */
  async shutdown(graceMs: number): Promise<number> {
    this.closing = true;
    const server = this.server;
    if (!server) return 0;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of this.requestSockets) {
      if (!this.inFlight(socket)) socket.destroy();
    }
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'deadline'>((resolve) => {
      timer = setTimeout(() => resolve('deadline'), graceMs);
    });
    const outcome = await Promise.race([closed, deadline]);
    clearTimeout(timer);
    if (outcome !== 'deadline') return 0;
    const left = this.sockets.size;
    for (const socket of this.sockets) socket.destroy();
    await closed;
    return left;
  }
}

function track(server: Server, event: 'connection' | 'secureConnection', into: Set<Socket>): void {
  server.on(event, (socket: Socket) => {
    into.add(socket);
    socket.once('close', () => into.delete(socket));
  });
}

function refuseClosing(response: ServerResponse): void {
  response.shouldKeepAlive = false;
  response.writeHead(503, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' });
  response.end('shutting down\n');
}
