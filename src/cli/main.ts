#!/usr/bin/env node
// sockdiag-exporter: the serve command (serve.ts) or the doctor command.
// Exit codes: 0 done, 1 could not serve (e.g. port in use), 2 bad flags or
// configuration (errors.ts holds the catalogue).
import './threadpool'; // first: sizes libuv's pool before anything starts it
import pino from 'pino';
import { ExporterError } from '../errors';
import { runDoctor } from './doctor';
import { serve } from './serve';

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
