// The routes: /metrics (or --web.telemetry-path), /doctor, /healthz and
// the landing page. The scrape route answers from the coalesced, rendered
// body (coalesce.ts) and at most --web.max-requests scrapes are served at
// once; beyond that a scrape gets 503 at once, as from node_exporter.
import type { FastifyInstance } from 'fastify';
import type { CollectorRegistry } from '../collectors/registry';
import { UnknownCollectorError } from '../errors';
import { renderJson, renderText } from '../incidents/report';
import type { IncidentService } from '../incidents/service';
import type { NamespaceFindings } from '../netns/service';
import type { ScrapeCoordinator } from './coalesce';
import { negotiate } from './exposition';
import type { ScrapeSlots } from './limits';
import { codingQuality, parsePreferences } from './negotiate';

export interface RouteContext {
  registry: CollectorRegistry;
  coordinator: ScrapeCoordinator;
  slots: ScrapeSlots;
  incidents?: IncidentService;
  /** The other namespaces' findings, with the netns collector on. */
  namespaces?: { findings(): NamespaceFindings[]; notes(): string[]; readonly error?: string };
  telemetryPath: string;
  version: string;
}

const TEXT = 'text/plain; charset=utf-8';

function collectFilter(query: unknown): string[] | undefined {
  const raw = (query as Record<string, unknown> | undefined)?.['collect[]'];
  if (raw === undefined) return undefined;
  return (Array.isArray(raw) ? raw : [raw]).map(String);
}

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}

export function landingPage(telemetryPath: string, version: string): string {
  const path = escapeHtml(telemetryPath);
  const links = [
    `<li><a href="${path}">${path}</a>: metrics</li>`,
    '<li><a href="/doctor">/doctor</a>: incident report (JSON with Accept: application/json)</li>',
    '<li><a href="/healthz">/healthz</a>: liveness</li>',
  ];
  return `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>sockdiag-exporter</title></head>
<body><h1>sockdiag-exporter</h1>
<p>Prometheus exporter for Linux socket statistics via netlink inet_diag. Version ${escapeHtml(version)}.</p>
<ul>${links.join('')}</ul></body></html>
`;
}

export function registerRoutes(scope: FastifyInstance, context: RouteContext): void {
  const { registry, coordinator, slots } = context;
  scope.get(context.telemetryPath, async (request, reply) => {
    const release = slots.take();
    if (!release) {
      return reply
        .code(503)
        .type(TEXT)
        .send(`Limit of concurrent requests reached (${slots.max}), try again later.\n`);
    }
    try {
      let names: string[];
      try {
        names = registry.select(collectFilter(request.query));
      } catch (error) {
        if (error instanceof UnknownCollectorError) {
          return reply.code(400).type(TEXT).send(`${error.message}\n`);
        }
        throw error;
      }
      const contentType = negotiate(request.headers.accept);
      const encodings = parsePreferences(request.headers['accept-encoding']);
      const coding = codingQuality(encodings, 'gzip') > 0 ? 'gzip' : 'identity';
      const body = await coordinator.body(names, contentType, coding);
      reply.type(contentType).header('vary', 'Accept-Encoding');
      if (coding === 'gzip') reply.header('content-encoding', 'gzip');
      return reply.send(body);
    } finally {
      release();
    }
  });
  scope.get('/doctor', async (request, reply) => {
    const incidents = context.incidents;
    if (!incidents || !registry.enabled.includes('incidents')) {
      return reply
        .code(404)
        .type(TEXT)
        .send('the incidents collector is disabled (--no-collector.incidents)\n');
    }
    const namespaces = registry.enabled.includes('netns') ? context.namespaces : undefined;
    await coordinator.collect(namespaces ? ['incidents', 'netns'] : ['incidents']);
    const findings = incidents.latest ?? [];
    const recent = incidents.recent();
    const notes = [...incidents.notes(), ...(namespaces?.notes() ?? [])];
    const section = namespaces && {
      scraped: namespaces.findings().map((ns) => ({
        netns: ns.netns,
        ...(ns.entry.identity.podUid ? { podUid: ns.entry.identity.podUid } : {}),
        ...(ns.entry.identity.containerId ? { containerId: ns.entry.identity.containerId } : {}),
        findings: ns.findings,
        recent: ns.recent,
      })),
      ...(namespaces.error ? { error: namespaces.error } : {}),
    };
    if (request.headers.accept?.includes('application/json')) {
      return reply.type('application/json').send(renderJson(findings, recent, notes, section));
    }
    return reply.type(TEXT).send(renderText(findings, recent, notes, section));
  });
  scope.get('/healthz', async (_request, reply) => reply.type(TEXT).send('ok\n'));
  scope.get('/', async (_request, reply) =>
    reply
      .type('text/html; charset=utf-8')
      .send(landingPage(context.telemetryPath, context.version)),
  );
}
