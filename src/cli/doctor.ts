// `sockdiag-exporter doctor`: a one-shot check for a terminal during an
// incident. Samples twice, --doctor.interval seconds apart (counter checks
// need a rate), prints the report, exits 0 when healthy and 1 when something
// fired (2 for bad flags).
import type { Logger } from 'pino';
import { COLLECTORS } from '../collectors';
import { FlagError } from '../errors';
import { renderJson, renderText } from '../incidents/report';
import { createExporter, type Exporter } from './exporter';
import { parseFlags } from './flags';

export interface DoctorOptions {
  intervalSeconds: number;
  format: 'text' | 'json';
}

export function splitDoctorFlags(argv: string[]): { doctor: DoctorOptions; rest: string[] } {
  const doctor: DoctorOptions = { intervalSeconds: 5, format: 'text' };
  const rest: string[] = [];
  for (const arg of argv) {
    const interval = /^--doctor\.interval=(.*)$/.exec(arg);
    const format = /^--doctor\.format=(.*)$/.exec(arg);
    if (interval) {
      const seconds = Number(interval[1]);
      if (!Number.isFinite(seconds) || seconds < 0 || seconds > 3600) {
        throw new FlagError(
          `--doctor.interval expects seconds between 0 and 3600, got ${JSON.stringify(interval[1])}`,
        );
      }
      doctor.intervalSeconds = seconds;
    } else if (format) {
      if (format[1] !== 'text' && format[1] !== 'json') {
        throw new FlagError(
          `--doctor.format must be text or json, got ${JSON.stringify(format[1])}`,
        );
      }
      doctor.format = format[1];
    } else {
      rest.push(arg);
    }
  }
  return { doctor, rest };
}

export const DOCTOR_USAGE = `usage: sockdiag-exporter doctor [--doctor.interval=5] [--doctor.format=text|json] [<flags>]

Samples the socket table, counters and sysctls twice, --doctor.interval
seconds apart, and prints which incident signatures fired, their evidence and
what to do. Exit status: 0 healthy, 1 an incident fired, 2 bad flags.
Takes the exporter's --collector.incidents.* thresholds and --path.procfs.
`;

export async function runDoctor(argv: string[], log: Logger): Promise<number> {
  const { doctor, rest } = splitDoctorFlags(argv);
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(DOCTOR_USAGE);
    return 0;
  }
  const parsed = parseFlags(rest, COLLECTORS);
  // Rates span the doctor's own interval: its two looks are the window.
  const interval = Math.max(doctor.intervalSeconds, 0.1);
  const config = {
    ...parsed,
    settings: {
      ...parsed.settings,
      incidents: { ...parsed.settings.incidents, sampleInterval: interval, window: 2 * interval },
    },
  };
  // Everything the checks read, nothing the report does not need; with
  // --collector.closed, what the connections closed meanwhile carried.
  const exporter = createExporter(
    config,
    log,
    new Set([
      'incidents',
      'sockets',
      'listeners',
      ...(parsed.enabled.has('closed') ? ['closed'] : []),
    ]),
  );
  try {
    return await report(exporter, doctor);
  } finally {
    exporter.close();
  }
}

async function report({ registry, incidents }: Exporter, doctor: DoctorOptions): Promise<number> {
  // The first look at the counters and the table; the second, an interval
  // later, has rates over that interval and a table to compare with.
  await incidents.sampleNow();
  await registry.collect(['incidents']);
  if (doctor.intervalSeconds > 0) {
    process.stderr.write(`sampling again in ${doctor.intervalSeconds} s...\n`);
    await new Promise((resolve) => setTimeout(resolve, doctor.intervalSeconds * 1000));
    await registry.collect(['incidents']);
  }
  const findings = incidents.latest ?? [];
  const recent = incidents.recent();
  process.stdout.write(
    doctor.format === 'json'
      ? `${JSON.stringify(renderJson(findings, recent, incidents.notes()), null, 2)}\n`
      : renderText(findings, recent, incidents.notes()),
  );
  return findings.some((finding) => finding.fired) ? 1 : 0;
}
