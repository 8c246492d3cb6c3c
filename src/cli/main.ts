#!/usr/bin/env node
// sockdiag-exporter: parse flags, build the registry and the server, listen.
// Exit codes: 0 done, 1 could not serve (e.g. port in use), 2 bad flags or
// configuration (errors.ts holds the catalogue).
import './threadpool'; // first: sizes libuv's pool before anything starts it
import pino from 'pino';
import { COLLECTORS } from '../collectors';
import { ExporterError, ListenError } from '../errors';
import { ProcessMetrics } from '../http/exposition';
import { buildServer } from '../http/server';
import { loadWebConfig, type WebConfig } from '../http/web-config';
import { runDoctor } from './doctor';
import { createExporter } from './exporter';
import { parseFlags, parseListenAddress, usage } from './flags';
import { VERSION } from './version';

async function serve(argv: string[]): Promise<number> {
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
  const { registry, incidents } = createExporter(config, log);
  if (config.enabled.has('incidents')) void incidents.start();
  const app = buildServer({
    registry,
    incidents,
    processMetrics: new ProcessMetrics(),
    log,
    telemetryPath: config.telemetryPath,
    minIntervalSeconds: config.minInterval,
    webConfig,
    version: VERSION,
  });
  const { host, port } = parseListenAddress(config.listenAddress);
  try {
    await listen(app, port, host);
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
      tls: Boolean(webConfig.tls),
      basicAuth: Boolean(webConfig.users?.size),
      collectors: registry.enabled,
    },
    'listening',
  );
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info({ signal }, 'shutting down');
      incidents.stop();
      app.close().then(resolve, resolve);
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  return 0;
}

/** ':port' listens on all interfaces: IPv6 dual-stack, or IPv4 when IPv6 is off. */
async function listen(
  app: ReturnType<typeof buildServer>,
  port: number,
  host?: string,
): Promise<void> {
  if (host) {
    await app.listen({ port, host });
    return;
  }
  try {
    await app.listen({ port, host: '::' });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EAFNOSUPPORT' && code !== 'EADDRNOTAVAIL') throw error;
    await app.listen({ port, host: '0.0.0.0' });
  }
}

async function main(argv: string[]): Promise<number> {
  const command = argv[0] === 'doctor' ? 'doctor' : undefined;
  try {
    if (command === 'doctor') {
      return await runDoctor(argv.slice(1), pino({ level: 'warn' }, pino.destination(2)));
    }
    return await serve(argv);
  } catch (error) {
    // The exporter's own errors end in one line and their exit code; anything
    // else is a bug, shown with its stack.
    if (!(error instanceof ExporterError)) throw error;
    const who = command ? `sockdiag-exporter ${command}` : 'sockdiag-exporter';
    process.stderr.write(`${who}: error: ${error.message}\n`);
    return error.exitCode;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    process.stderr.write(`sockdiag-exporter: fatal: ${String(error?.stack ?? error)}\n`);
    process.exitCode = 1;
  },
);
