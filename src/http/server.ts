// The HTTP face: built by a function that does not listen, so tests use
// fastify.inject and the CLI calls listen(). The Node server under Fastify
// is made here (serverFactory) so that its limits are ours: the
// per-connection gate and the connection cap (connections.ts), timeouts for
// slow clients, TLS with client certificates, and reloads of all of it.
import http from 'node:http';
import https from 'node:https';
import type { TLSSocket } from 'node:tls';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import type { Logger } from 'pino';
import type { CollectorRegistry } from '../collectors/registry';
import { WebConfigError } from '../errors';
import type { IncidentService } from '../incidents/service';
import { Access } from './access';
import { BcryptPool } from './bcrypt-pool';
import { ScrapeCoordinator } from './coalesce';
import { ConnectionGuard } from './connections';
import { type ContentType, type ProcessMetrics, render } from './exposition';
import { connectionCap, openFilesLimit, ScrapeSlots } from './limits';
import { RateLimitedLog } from './rate-limited-log';
import { type RouteContext, registerRoutes } from './routes';
import { clientCertificateProblem, type TlsSettings, verifyMode } from './tls-config';
import type { WebConfig } from './web-config';

export interface ServerOptions {
  registry: CollectorRegistry;
  /** The incident service behind /doctor; absent when the incidents collector is off. */
  incidents?: IncidentService;
  /** The other namespaces' findings for /doctor (the netns collector). */
  namespaces?: RouteContext['namespaces'];
  /** Shown on the landing page. */
  version?: string;
  processMetrics?: ProcessMetrics;
  log: Logger;
  telemetryPath?: string;
  minIntervalSeconds?: number;
  /** TLS, basic auth, headers and rate limit from --web.config.file. */
  webConfig?: WebConfig;
  /** --web.max-requests: scrapes served at once (default 40; 0: no limit). */
  maxRequests?: number;
  /** --web.max-connections (default 512; 0: no limit but the descriptors'). */
  maxConnections?: number;
  /** The soft open files limit; read from /proc/self/limits when absent. */
  openFiles?: number;
}

export interface ExporterServer {
  app: FastifyInstance;
  /** Applies a re-read web config; throws WebConfigError when it cannot be applied without a restart. */
  reload(config: WebConfig): void;
  /** Stops as connections.ts describes; resolves with the number of connections destroyed at the deadline. */
  shutdown(graceMs: number): Promise<number>;
}

export const DEFAULT_MAX_REQUESTS = 40;
export const DEFAULT_MAX_CONNECTIONS = 512;

/** Timeouts for clients that are slow on purpose. */
const TIMEOUTS = {
  /** A request's headers must arrive within this, or 408 and close (slowloris). */
  headersTimeout: 10_000,
  requestTimeout: 15_000,
  /** How often Node checks the two above (its default, 30 s, would let them run to 40 s). */
  connectionsCheckingInterval: 1_000,
  /** Idle keep-alive connections (Prometheus keeps one per target) are closed after this. */
  keepAliveTimeout: 72_000,
  /** A connection with no progress either way (a client that stopped reading) is destroyed after this. */
  inactivity: 60_000,
  tlsHandshake: 10_000,
};

/** Resolves after the event loop has polled for I/O once. */
export function loopTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function makeNodeServer(handler: http.RequestListener, tls: TlsSettings | undefined): http.Server {
  const { headersTimeout, requestTimeout, connectionsCheckingInterval } = TIMEOUTS;
  const options = { headersTimeout, requestTimeout, connectionsCheckingInterval };
  const server = tls
    ? https.createServer(
        { ...options, ...tls.context, ...verifyMode(tls), handshakeTimeout: TIMEOUTS.tlsHandshake },
        handler,
      )
    : http.createServer(options, handler);
  server.keepAliveTimeout = TIMEOUTS.keepAliveTimeout;
  server.setTimeout(TIMEOUTS.inactivity);
  return server;
}

export function createServer(options: ServerOptions): ExporterServer {
  const log = options.log;
  const telemetryPath = options.telemetryPath ?? '/metrics';
  const webConfig = options.webConfig ?? {};
  let tls = webConfig.tls;
  const pool = new BcryptPool();
  const access = new Access(pool, webConfig);
  const guard = new ConnectionGuard(log);
  const { cap, why } = connectionCap(
    options.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
    options.openFiles ?? openFilesLimit(),
  );
  const rejected = new RateLimitedLog(log, 10_000);
  let node: http.Server | undefined;
  const app = Fastify({
    serverFactory: (handler) => {
      node = makeNodeServer(guard.gate(handler), tls);
      guard.attach(node, cap, why, Boolean(tls));
      // Before the HTTP layer sees the connection: client certificate policy.
      node.prependListener('secureConnection', (socket: TLSSocket) => {
        const problem = tls && clientCertificateProblem(socket, tls);
        if (!problem) return;
        rejected.warn({ remote: socket.remoteAddress }, `TLS connection refused: ${problem}`);
        socket.destroy();
      });
      return node;
    },
    loggerInstance: log as unknown as FastifyBaseLogger,
    // Scrapes every 15 s would drown the log; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
  }) as unknown as FastifyInstance;
  const processMetrics = options.processMetrics;
  const coordinator = new ScrapeCoordinator(
    options.registry,
    (options.minIntervalSeconds ?? 0) * 1000,
    async (families, contentType) => {
      const all = [...families];
      // Each step below runs for a few ms without awaiting anything that
      // waits: give the event loop a turn between them, so /healthz and
      // other requests are not held behind one scrape's whole tail.
      await loopTurn();
      if (processMetrics) all.push(...(await processMetrics.families()));
      await loopTurn();
      return render(all, contentType as ContentType);
    },
  );
  access.install(app);
  // Scrapes are connections too: the churn check leaves the exporter's own out.
  const incidents = options.incidents;
  if (incidents)
    app.server.on(tls ? 'secureConnection' : 'connection', () => incidents.noteOwnConnection());
  app.register(async (scope) =>
    registerRoutes(scope, {
      registry: options.registry,
      coordinator,
      slots: new ScrapeSlots(options.maxRequests ?? DEFAULT_MAX_REQUESTS),
      ...(options.incidents ? { incidents: options.incidents } : {}),
      ...(options.namespaces ? { namespaces: options.namespaces } : {}),
      telemetryPath,
      version: options.version ?? 'unknown',
    }),
  );
  app.addHook('onClose', async () => pool.close());
  return {
    app,
    reload(config) {
      if (Boolean(config.tls) !== Boolean(tls)) {
        throw new WebConfigError(
          `--web.config.file ${config.file ?? ''}: turning TLS ${config.tls ? 'on' : 'off'} needs a restart`,
        );
      }
      if (config.tls && node instanceof https.Server) {
        node.setSecureContext(config.tls.context);
        Object.assign(node, verifyMode(config.tls));
      }
      tls = config.tls;
      access.apply(config);
    },
    shutdown: (graceMs) => guard.shutdown(graceMs),
  };
}

/** The Fastify app alone, for tests that inject requests. */
export function buildServer(options: ServerOptions): FastifyInstance {
  return createServer(options).app;
}
