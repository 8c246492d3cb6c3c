// The serve command: flags, the web config, the registry and the server;
// then signals. SIGHUP re-reads --web.config.file (a bad file keeps the
// running one, and the log says why); SIGTERM and SIGINT stop the server
// within --web.shutdown-timeout (http/connections.ts says how).
import pino, { type Logger } from 'pino';
import { COLLECTORS } from '../collectors';
import { ListenError } from '../errors';
import { ProcessMetrics } from '../http/exposition';
import { createServer, type ExporterServer } from '../http/server';
import { loadWebConfig, type WebConfig } from '../http/web-config';
import { createExporter } from './exporter';
import { type Config, parseFlags, parseListenAddress, usage } from './flags';
import { VERSION } from './version';

/** What the log says about a web config. */
function describe(config: WebConfig): Record<string, unknown> {
  return {
    tls: Boolean(config.tls),
    clientAuth: config.tls?.clientAuth,
    basicAuth: Boolean(config.users?.size),
    rateLimit: Boolean(config.rateLimit),
  };
}

export async function serve(argv: string[]): Promise<number> {
  const config = parseFlags(argv, COLLECTORS);
  if (config.help) {
    process.stdout.write(usage(COLLECTORS, VERSION));
    return 0;
  }
  if (config.version) {
    process.stdout.write(`sockdiag-exporter ${VERSION} (node ${process.version})\n`);
    return 0;
  }
  const webConfig: WebConfig = config.webConfigFile ? loadWebConfig(config.webConfigFile) : {};
  const log = pino({ level: config.logLevel, base: { pid: process.pid } });
  for (const message of config.clamped) log.warn(message);
  const exporter = createExporter(config, log);
  const { registry, incidents } = exporter;
  // The incident checks sample their counters on their own schedule.
  if (config.enabled.has('incidents')) void incidents.start();
  const server = createServer({
    registry,
    incidents,
    ...(exporter.netns ? { namespaces: exporter.netns } : {}),
    processMetrics: new ProcessMetrics(),
    log,
    telemetryPath: config.telemetryPath,
    minIntervalSeconds: config.minInterval,
    webConfig,
    version: VERSION,
    maxRequests: config.maxRequests,
    maxConnections: config.maxConnections,
  });
  // Before listening: SIGHUP's default action would end the process.
  process.on('SIGHUP', () => reload(server, config, log));
  const { host, port } = parseListenAddress(config.listenAddress);
  try {
    await listen(server, port, host);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'EADDRINUSE'
        ? `address ${config.listenAddress} is already in use: stop the other process or pass --web.listen-address`
        : `cannot listen on ${config.listenAddress}: ${String(error)}`;
    log.error({ err: error }, why);
    throw new ListenError(why, { cause: error });
  }
  log.info(
    {
      version: VERSION,
      address: config.listenAddress,
      ...describe(webConfig),
      collectors: registry.enabled,
    },
    'listening',
  );
  return stopOnSignal(server, config, log, () => exporter.close());
}

function reload(server: ExporterServer, config: Config, log: Logger): void {
  if (!config.webConfigFile) {
    log.info('SIGHUP: no --web.config.file to re-read');
    return;
  }
  try {
    const next = loadWebConfig(config.webConfigFile);
    server.reload(next);
    log.info({ file: config.webConfigFile, ...describe(next) }, 'web config reloaded');
  } catch (error) {
    log.error(
      { file: config.webConfigFile },
      `web config not reloaded, the running one stays: ${(error as Error).message}`,
    );
  }
}

function stopOnSignal(
  server: ExporterServer,
  config: Config,
  log: Logger,
  release: () => void,
): Promise<number> {
  return new Promise<number>((resolve) => {
    const stop = async (signal: string) => {
      // A second signal means "now".
      process.once('SIGTERM', () => process.exit(1));
      process.once('SIGINT', () => process.exit(1));
      const started = Date.now();
      log.info({ signal, grace: config.shutdownTimeout }, 'shutting down');
      const cut = await server.shutdown(config.shutdownTimeout * 1000);
      await server.app.close();
      // Sampling stops, and every other namespace's socket closes.
      release();
      log.info({ ms: Date.now() - started, cut }, 'stopped');
      // A dump still running (its connection was cut) must not hold the exit.
      setTimeout(() => process.exit(0), 1000).unref();
      resolve(0);
    };
    process.once('SIGTERM', () => void stop('SIGTERM'));
    process.once('SIGINT', () => void stop('SIGINT'));
  });
}

/** ':port' listens on all interfaces: IPv6 dual-stack, or IPv4 when IPv6 is off. */
async function listen(server: ExporterServer, port: number, host?: string): Promise<void> {
  if (host) {
    await server.app.listen({ port, host });
    return;
  }
  try {
    await server.app.listen({ port, host: '::' });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EAFNOSUPPORT' && code !== 'EADDRNOTAVAIL') throw error;
    await server.app.listen({ port, host: '0.0.0.0' });
  }
}
