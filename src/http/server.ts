// The HTTP face: built by a function that does not listen, so tests use
// fastify.inject and the CLI calls listen().
import compress from '@fastify/compress';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import type { Logger } from 'pino';
import type { CollectorRegistry } from '../collectors/registry';
import { UnknownCollectorError } from '../errors';
import { renderJson, renderText } from '../incidents/report';
import type { IncidentService } from '../incidents/service';
import { ScrapeCoordinator } from './coalesce';
import { negotiate, type ProcessMetrics, render } from './exposition';
import { installBasicAuth, type WebConfig } from './web-config';

export interface ServerOptions {
  registry: CollectorRegistry;
  /** The incident service behind /doctor; absent when the incidents collector is off. */
  incidents?: IncidentService;
  /** Shown on the landing page. */
  version?: string;
  processMetrics?: ProcessMetrics;
  log: Logger;
  telemetryPath?: string;
  minIntervalSeconds?: number;
  /** TLS and basic auth from --web.config.file. */
  webConfig?: WebConfig;
}

/** Resolves after the event loop has polled for I/O once. */
export function loopTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function collectFilter(query: unknown): string[] | undefined {
  const raw = (query as Record<string, unknown> | undefined)?.['collect[]'];
  if (raw === undefined) return undefined;
  return (Array.isArray(raw) ? raw : [raw]).map(String);
}

function landingPage(telemetryPath: string, version: string): string {
  const links = [
    `<li><a href="${telemetryPath}">${telemetryPath}</a>: metrics</li>`,
    '<li><a href="/doctor">/doctor</a>: incident report (JSON with Accept: application/json)</li>',
    '<li><a href="/healthz">/healthz</a>: liveness</li>',
  ];
  return `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>sockdiag-exporter</title></head>
<body><h1>sockdiag-exporter</h1>
<p>Prometheus exporter for Linux socket statistics via netlink inet_diag. Version ${version}.</p>
<ul>${links.join('')}</ul></body></html>
`;
}

export function buildServer(options: ServerOptions): FastifyInstance {
  const telemetryPath = options.telemetryPath ?? '/metrics';
  const tls = options.webConfig?.tls;
  const app = Fastify({
    ...(tls ? { https: { cert: tls.cert, key: tls.key, minVersion: tls.minVersion } } : {}),
    loggerInstance: options.log as unknown as FastifyBaseLogger,
    // Scrapes every 15 s would drown the log; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
  });
  const coordinator = new ScrapeCoordinator(
    options.registry,
    (options.minIntervalSeconds ?? 0) * 1000,
  );
  const users = options.webConfig?.users;
  if (users && users.size > 0) installBasicAuth(app, users);
  app.register(compress, { global: true, encodings: ['gzip'] });
  // Scrapes are connections too: the churn check leaves them out.
  const incidents = options.incidents;
  if (incidents) app.server.on('connection', () => incidents.noteOwnConnection());
  app.register(async (scope) => {
    scope.get(telemetryPath, async (request, reply) => {
      let names: string[];
      try {
        names = options.registry.select(collectFilter(request.query));
      } catch (error) {
        if (error instanceof UnknownCollectorError) {
          return reply.code(400).type('text/plain; charset=utf-8').send(`${error.message}\n`);
        }
        throw error;
      }
      const families = [...(await coordinator.collect(names))];
      // Each step below runs for a few ms without awaiting anything that
      // waits: give the event loop a turn between them, so /healthz and
      // other requests are not held behind one scrape's whole tail.
      await loopTurn();
      if (options.processMetrics) families.push(...(await options.processMetrics.families()));
      await loopTurn();
      const contentType = negotiate(request.headers.accept);
      const body = await render(families, contentType);
      return reply.type(contentType).send(body);
    });
    scope.get('/doctor', async (request, reply) => {
      const incidents = options.incidents;
      if (!incidents || !options.registry.enabled.includes('incidents')) {
        return reply
          .code(404)
          .type('text/plain; charset=utf-8')
          .send('the incidents collector is disabled (--no-collector.incidents)\n');
      }
      await coordinator.collect(['incidents']);
      const findings = incidents.latest ?? [];
      const recent = incidents.recent();
      if (request.headers.accept?.includes('application/json')) {
        return reply.type('application/json').send(renderJson(findings, recent, incidents.notes()));
      }
      return reply
        .type('text/plain; charset=utf-8')
        .send(renderText(findings, recent, incidents.notes()));
    });
    scope.get('/healthz', async (_request, reply) =>
      reply.type('text/plain; charset=utf-8').send('ok\n'),
    );
    scope.get('/', async (_request, reply) =>
      reply
        .type('text/html; charset=utf-8')
        .send(landingPage(telemetryPath, options.version ?? 'unknown')),
    );
  });
  return app;
}
