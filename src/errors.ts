// The exporter's own error codes, in one catalogue: what each means and how
// the command line ends on it. Errors from the kernel keep Node's shape
// instead (diag/errors.ts: SockDiagError with the errno's name as code).
// The README's error table lists every code here; a test keeps the two equal.

export const ERROR_CODES = {
  ERR_BAD_FLAG: {
    exitCode: 2,
    meaning: 'A command-line flag is unknown, lacks its value, or has a value out of its range.',
  },
  ERR_WEB_CONFIG: {
    exitCode: 2,
    meaning:
      'The --web.config.file is unreadable or invalid: an unknown key, a bad value, TLS material that does not load, a malformed bcrypt hash.',
  },
  ERR_UNKNOWN_COLLECTOR: {
    exitCode: 2,
    meaning:
      'A collect[] parameter names a collector that does not exist or is disabled (HTTP 400).',
  },
  ERR_LISTEN: {
    exitCode: 1,
    meaning: 'The exporter cannot listen on --web.listen-address (in use, or not an address here).',
  },
  ERR_CAPABILITY: {
    exitCode: 1,
    meaning:
      'A collector needs a capability this process lacks (the netns collector: CAP_SYS_ADMIN and CAP_SYS_PTRACE): it fails, naming the capability; the others go on.',
  },
  ERR_PROCFS: {
    exitCode: 1,
    meaning:
      'A procfs file that a collector needs is missing, unreadable or holds values out of the range the kernel allows: the collector fails, the scrape goes on.',
  },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Base class of the exporter's own errors: a `code` from ERROR_CODES and a message that says what to do. */
export class ExporterError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }

  /** The exit status the command line ends with. */
  get exitCode(): number {
    return ERROR_CODES[this.code].exitCode;
  }
}

/** A subclass of ExporterError for one code, so callers can catch by class. */
function codedError(code: ErrorCode, name: string) {
  const Coded = class extends ExporterError {
    constructor(message: string, options?: { cause?: unknown }) {
      super(code, message, options);
      this.name = name;
    }
  };
  Object.defineProperty(Coded, 'name', { value: name });
  return Coded;
}

export const FlagError = codedError('ERR_BAD_FLAG', 'FlagError');
export type FlagError = InstanceType<typeof FlagError>;
export const WebConfigError = codedError('ERR_WEB_CONFIG', 'WebConfigError');
export type WebConfigError = InstanceType<typeof WebConfigError>;
export const UnknownCollectorError = codedError('ERR_UNKNOWN_COLLECTOR', 'UnknownCollectorError');
export type UnknownCollectorError = InstanceType<typeof UnknownCollectorError>;
export const ListenError = codedError('ERR_LISTEN', 'ListenError');
export type ListenError = InstanceType<typeof ListenError>;
export const CapabilityError = codedError('ERR_CAPABILITY', 'CapabilityError');
export type CapabilityError = InstanceType<typeof CapabilityError>;

/** A procfs file is missing or malformed; carries the file's path. */
export class ProcfsError extends ExporterError {
  constructor(
    readonly path: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super('ERR_PROCFS', `${path}: ${message}`, options);
  }
}

/** The README's error table, from the catalogue. */
export function errorTable(): string {
  const rows = ['| code | exit status | meaning |', '|---|---|---|'];
  for (const [code, { exitCode, meaning }] of Object.entries(ERROR_CODES)) {
    rows.push(`| \`${code}\` | ${exitCode} | ${meaning} |`);
  }
  return rows.join('\n');
}
