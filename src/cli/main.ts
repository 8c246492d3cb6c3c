#!/usr/bin/env node
// sockdiag-exporter: parse flags, build the registry and the server, listen.
// Exit codes: 0 done, 1 could not serve (e.g. port in use), 2 bad flags.
import './threadpool'; // first: sizes libuv's pool before anything starts it
import pino from 'pino';
import { COLLECTORS } from '../collectors';
import { runDoctor } from './doctor';
import { FlagError, parseFlags, parseListenAddress, usage } from './flags';
import { CollectorRegistry } from '../collectors/registry';
import { ProcessMetrics } from '../http/exposition';
import { buildServer } from '../http/server';
import { VERSION } from './version';
import { loadWebConfig, type WebConfig, WebConfigError } from '../http/web-config';

async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'doctor') {
    try {
      return await runDoctor(argv.slice(1), pino({ level: 'warn' }, pino.destination(2)));
    } catch (error) {
      if (!(error instanceof FlagError)) throw error;
      process.stderr.write(`sockdiag-exporter doctor: error: ${error.message}\n`);
      return 2;
    }
  }
  let config: ReturnType<typeof parseFlags>;
  try {
    config = parseFlags(argv, COLLECTORS);
  } catch (error) {
    if (error instanceof FlagError) {
      process.stderr.write(`sockdiag-exporter: error: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  if (config.help) {
    process.stdout.write(usage(COLLECTORS, VERSION));
    return 0;
  }
  if (config.version) {
    process.stdout.write(`sockdiag-exporter ${VERSION} (node ${process.version})\n`);
    return 0;
  }
  let webConfig: WebConfig = {};
  try {
    if (config.webConfigFile) webConfig = loadWebConfig(config.webConfigFile);
  } catch (error) {
    if (!(error instanceof WebConfigError)) throw error;
    process.stderr.write(`sockdiag-exporter: error: ${error.message}\n`);
    return 2;
  }
  const log = pino({ level: config.logLevel, base: { pid: process.pid } });
  const registry = new CollectorRegistry(COLLECTORS, {
    enabled: config.enabled,
    settings: config.settings,
    procfs: config.procfs,
    log,
  });
  const app = buildServer({
    registry,
    processMetrics: new ProcessMetrics(),
    log,
    telemetryPath: config.telemetryPath,
    minIntervalSeconds: config.minInterval,
    webConfig,
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
    process.stderr.write(`sockdiag-exporter: error: ${why}\n`);
    return 1;
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

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    process.stderr.write(`sockdiag-exporter: fatal: ${String(error?.stack ?? error)}\n`);
    process.exitCode = 1;
  },
);
