// Command-line flags after node_exporter's conventions: --name=value or
// --name value, --collector.NAME / --no-collector.NAME,
// --collector.NAME.OPTION=value, --help, --version. Pure: returns a config
// or throws a FlagError (the CLI exits 2 with its message). Collector
// options come from the collectors' own declarations (collectors/options.ts).
import type { CollectorDefinition, SettingsOf } from '../collectors/collector';
import { describeRange, flagSpelling, type OptionSpec, parseOption } from '../collectors/options';
import { FlagError } from '../errors';

export const DEFAULT_LISTEN_ADDRESS = ':19561';

export interface Config<Settings = Readonly<Record<string, Readonly<Record<string, unknown>>>>> {
  listenAddress: string;
  telemetryPath: string;
  /** --web.config.file, '' for none. */
  webConfigFile: string;
  procfs: string;
  /** --path.cgroupfs, '' to find the cgroup2 mount. */
  cgroupfs: string;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  enabled: Set<string>;
  /** Every collector's options, defaults applied, by collector name. */
  settings: Settings;
  /** Values above an option's maximum that were lowered to it, for the log. */
  clamped: string[];
  /** Minimum seconds between two table dumps; scrapes in between reuse the last one. */
  minInterval: number;
  /** --web.max-requests: scrapes served at once, 0 = no limit. */
  maxRequests: number;
  /** --web.max-connections: open connections, 0 = no limit but the descriptors'. */
  maxConnections: number;
  /** --web.shutdown-timeout: seconds in-flight requests get on SIGTERM/SIGINT. */
  shutdownTimeout: number;
  help: boolean;
  version: boolean;
}

interface GlobalFlag {
  name: string;
  help: string;
  default: string;
  apply(config: Config, value: string): void;
}

const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;

/** A whole number in decimal digits (Number() would also take "0x10", "1e3" and " 7 "). */
function wholeNumber(flag: string, value: string, max: number): number {
  if (!/^\d+$/.test(value) || Number(value) > max) {
    throw new FlagError(
      `--${flag} expects a whole number from 0 to ${max}, got ${JSON.stringify(value)}`,
    );
  }
  return Number(value);
}

/** Seconds, decimals allowed: "10", "2.5". */
function seconds(flag: string, value: string, max: number): number {
  if (!/^\d+(\.\d+)?$/.test(value) || Number(value) > max) {
    throw new FlagError(`--${flag} expects seconds from 0 to ${max}, got ${JSON.stringify(value)}`);
  }
  return Number(value);
}

export const GLOBAL_FLAGS: GlobalFlag[] = [
  {
    name: 'web.listen-address',
    help: 'Address to listen on for the web interface and telemetry ([host]:port; :port means all interfaces).',
    default: DEFAULT_LISTEN_ADDRESS,
    apply: (config, value) => {
      parseListenAddress(value);
      config.listenAddress = value;
    },
  },
  {
    name: 'web.telemetry-path',
    help: 'Path under which to expose metrics.',
    default: '/metrics',
    apply: (config, value) => {
      if (!value.startsWith('/'))
        throw new FlagError(`--web.telemetry-path must start with /: ${value}`);
      config.telemetryPath = value;
    },
  },
  {
    name: 'web.config.file',
    help: 'Path to a configuration file for TLS, client certificates, basic auth, response headers and rate limiting (exporter-toolkit format); re-read on SIGHUP.',
    default: '',
    apply: (config, value) => {
      config.webConfigFile = value;
    },
  },
  {
    name: 'web.max-requests',
    help: 'Maximum number of parallel scrape requests; more get 503 at once (0 = no limit).',
    default: '40',
    apply: (config, value) => {
      config.maxRequests = wholeNumber('web.max-requests', value, 1_000_000);
    },
  },
  {
    name: 'web.max-connections',
    help: 'Maximum number of open HTTP connections; more are closed at once, with a warning in the log (0 = no limit but the open files limit, less 64 descriptors kept for dumps and files).',
    default: '512',
    apply: (config, value) => {
      config.maxConnections = wholeNumber('web.max-connections', value, 1_000_000);
    },
  },
  {
    name: 'web.shutdown-timeout',
    help: 'Seconds that in-flight requests get to finish on SIGTERM or SIGINT; idle connections are closed at once, and what is left at the end is cut.',
    default: '10',
    apply: (config, value) => {
      config.shutdownTimeout = seconds('web.shutdown-timeout', value, 3600);
    },
  },
  {
    name: 'path.procfs',
    help: 'procfs mountpoint.',
    default: '/proc',
    apply: (config, value) => {
      config.procfs = value;
    },
  },
  {
    name: 'path.cgroupfs',
    help: "cgroup v2 mountpoint, to name sockets' owners (empty: find it in /proc/self/mountinfo).",
    default: '',
    apply: (config, value) => {
      config.cgroupfs = value;
    },
  },
  {
    name: 'scrape.min-interval',
    help: 'Minimum seconds between two socket-table dumps; scrapes in between are answered from the last one (0 = dump every scrape).',
    default: '0',
    apply: (config, value) => {
      const seconds = Number(value);
      if (!Number.isFinite(seconds) || seconds < 0) {
        throw new FlagError(
          `--scrape.min-interval expects seconds >= 0, got ${JSON.stringify(value)}`,
        );
      }
      config.minInterval = seconds;
    },
  },
  {
    name: 'log.level',
    help: `Only log messages with the given severity or above: ${LOG_LEVELS.join(', ')}.`,
    default: 'info',
    apply: (config, value) => {
      if (!(LOG_LEVELS as readonly string[]).includes(value)) {
        throw new FlagError(
          `--log.level must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(value)}`,
        );
      }
      config.logLevel = value as Config['logLevel'];
    },
  },
];

/** host/port for net.Server#listen; ':port' = all interfaces. */
export function parseListenAddress(value: string): { host?: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d+)$/.exec(value);
  const port = Number(match?.[3]);
  if (!match || !Number.isInteger(port) || port > 65535) {
    throw new FlagError(`--web.listen-address expects [host]:port, got ${JSON.stringify(value)}`);
  }
  const host = match[1] ?? match[2];
  return host ? { host, port } : { port };
}

/** A collector's option found by its flag spelling. */
function findOption(
  collector: CollectorDefinition,
  spelling: string,
): [string, OptionSpec] | undefined {
  return Object.entries(collector.options).find(([key]) => flagSpelling(key) === spelling);
}

export function parseFlags<const Definitions extends readonly CollectorDefinition[]>(
  argv: readonly string[],
  collectors: Definitions,
): Config<SettingsOf<Definitions>> {
  const settings: Record<string, Record<string, unknown>> = {};
  for (const collector of collectors) {
    settings[collector.name] = Object.fromEntries(
      Object.entries(collector.options).map(([key, spec]) => [key, spec.default]),
    );
  }
  const config: Config<Record<string, Record<string, unknown>>> = {
    listenAddress: DEFAULT_LISTEN_ADDRESS,
    telemetryPath: '/metrics',
    webConfigFile: '',
    procfs: '/proc',
    cgroupfs: '',
    logLevel: 'info',
    enabled: new Set(collectors.filter((c) => c.defaultEnabled).map((c) => c.name)),
    settings,
    clamped: [],
    minInterval: 0,
    maxRequests: 40,
    maxConnections: 512,
    shutdownTimeout: 10,
    help: false,
    version: false,
  };
  const byName = new Map(collectors.map((c) => [c.name, c]));
  const toggles: [string, boolean][] = [];
  let disableDefaults = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') {
      config.help = true;
      continue;
    }
    if (arg === '--version') {
      config.version = true;
      continue;
    }
    if (!arg.startsWith('--')) throw new FlagError(`unexpected argument ${JSON.stringify(arg)}`);
    const eq = arg.indexOf('=');
    const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    let value = eq >= 0 ? arg.slice(eq + 1) : undefined;
    const takeValue = (): string => {
      if (value !== undefined) return value;
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--'))
        throw new FlagError(`--${name} needs a value`);
      i++;
      value = next;
      return next;
    };
    const global = GLOBAL_FLAGS.find((flag) => flag.name === name);
    if (global) {
      global.apply(config, takeValue());
      continue;
    }
    if (name === 'collector.disable-defaults') {
      disableDefaults = value === undefined || value === 'true';
      continue;
    }
    const toggle = /^(no-)?collector\.([a-z_]+)$/.exec(name);
    if (toggle && byName.has(toggle[2]!)) {
      if (value !== undefined && value !== 'true' && value !== 'false') {
        throw new FlagError(`--${name} takes no value other than true or false`);
      }
      toggles.push([toggle[2]!, !toggle[1] !== (value === 'false')]);
      continue;
    }
    const option = /^collector\.([a-z_]+)\.([a-z0-9-]+)$/.exec(name);
    const collector = option ? byName.get(option[1]!) : undefined;
    const found = collector && findOption(collector, option![2]!);
    if (collector && found) {
      const [key, spec] = found;
      const raw = spec.kind === 'boolean' && value === undefined ? 'true' : takeValue();
      const parsed = parseOption(spec, name, raw);
      settings[collector.name]![key] = parsed.value;
      if (parsed.clampedFrom !== undefined) {
        config.clamped.push(
          `--${name}=${parsed.clampedFrom} is above its maximum: using ${parsed.value}`,
        );
      }
      continue;
    }
    throw new FlagError(`unknown flag --${name} (see --help)`);
  }
  if (disableDefaults) config.enabled.clear();
  for (const [name, on] of toggles) {
    if (on) config.enabled.add(name);
    else config.enabled.delete(name);
  }
  return config as unknown as Config<SettingsOf<Definitions>>;
}

export function usage(collectors: readonly CollectorDefinition[], version: string): string {
  const lines = [
    `usage: sockdiag-exporter [<flags>]`,
    `       sockdiag-exporter doctor [--doctor.interval=5] [--doctor.format=text|json] [<flags>]`,
    '',
    `Prometheus exporter for Linux socket statistics (netlink inet_diag), version ${version}.`,
    '',
    'Flags:',
    '  -h, --help                 Show this help.',
    '      --version              Show the version.',
  ];
  for (const flag of GLOBAL_FLAGS) {
    lines.push(`      --${flag.name}=${JSON.stringify(flag.default)}`, `          ${flag.help}`);
  }
  lines.push(
    '      --collector.disable-defaults',
    '          Disable all collectors by default (enable the ones you want).',
  );
  for (const collector of collectors) {
    const state = collector.defaultEnabled ? 'enabled' : 'disabled';
    lines.push(
      `      --[no-]collector.${collector.name}`,
      `          ${collector.help} [default: ${state}]`,
    );
    for (const [key, spec] of Object.entries(collector.options)) {
      lines.push(
        `      --collector.${collector.name}.${flagSpelling(key)}=${JSON.stringify(spec.default)}`,
        `          ${spec.help} (${describeRange(spec)})`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

/** The README's collector table: one row per collector, every option with its default and range. */
export function collectorTable(collectors: readonly CollectorDefinition[]): string {
  const rows = ['| collector | default | what | options (default; range) |', '|---|---|---|---|'];
  for (const collector of collectors) {
    const options = Object.entries(collector.options).map(
      ([key, spec]) =>
        `\`--collector.${collector.name}.${flagSpelling(key)}=${String(spec.default)}\` (${describeRange(spec)})`,
    );
    const state = collector.defaultEnabled ? 'on' : 'off';
    rows.push(`| \`${collector.name}\` | ${state} | ${collector.help} | ${options.join('<br>')} |`);
  }
  return rows.join('\n');
}
