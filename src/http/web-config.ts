// --web.config.file in the format of the Prometheus exporter-toolkit, so one
// file serves node_exporter and us alike:
//
//   tls_server_config:            TLS and client certificates (tls-config.ts)
//     cert_file: server.crt
//     key_file: server.key
//   http_server_config:
//     http2: true                 accepted; this server speaks HTTP/1.1 only
//     headers:                    added to every response; only these five:
//       Strict-Transport-Security, Content-Security-Policy, X-XSS-Protection,
//       X-Frame-Options (deny | sameorigin), X-Content-Type-Options (nosniff)
//   basic_auth_users:
//     alice: $2y$10$...           bcrypt hash (htpasswd -nBC 10 alice)
//   rate_limit:                   token bucket over all requests, 429 beyond
//     interval: 1s                time to earn one request; 0 disables
//     burst: 10                   requests that may come at once
//
// Everything is checked when the file is read, at startup and on SIGHUP:
// unknown keys (at any level), bad values, TLS material that does not load
// or does not pair, malformed bcrypt hashes.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { fail, mapping, optionalBoolean } from './config-file';
import { parseTls, type TlsSettings } from './tls-config';

export interface RateLimit {
  /** Milliseconds to earn one request; 0 would disable, and is stored as no rate limit at all. */
  intervalMs: number;
  burst: number;
}

export interface WebConfig {
  /** The file it was read from. */
  file?: string;
  tls?: TlsSettings;
  users?: Map<string, string>;
  /** Extra response headers (http_server_config.headers). */
  headers?: Record<string, string>;
  rateLimit?: RateLimit;
}

const TOP_KEYS = ['tls_server_config', 'http_server_config', 'basic_auth_users', 'rate_limit'];

/**
 * exporter-toolkit's configurable headers, with their allowed values where
 * the header is an enumeration (empty: any value).
 */
const HEADERS: Record<string, readonly string[]> = {
  'Strict-Transport-Security': [],
  'X-Content-Type-Options': ['nosniff'],
  'X-Frame-Options': ['deny', 'sameorigin'],
  'X-XSS-Protection': [],
  'Content-Security-Policy': [],
};

/** $2$, $2a$, $2b$ or $2y$, a cost of 04 to 31, 22 characters of salt and 31 of hash. */
const BCRYPT = /^\$2[aby]?\$(0[4-9]|[12]\d|3[01])\$[./A-Za-z0-9]{53}$/;

function parseUsers(file: string, raw: unknown): Map<string, string> {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    fail(file, 'basic_auth_users must be a mapping of user names to bcrypt hashes');
  }
  const users = new Map<string, string>();
  for (const [user, hash] of Object.entries(raw as Record<string, unknown>)) {
    if (typeof hash !== 'string' || !BCRYPT.test(hash)) {
      const got = typeof hash === 'string' ? `${hash.length} characters` : typeof hash;
      fail(
        file,
        `basic_auth_users.${user}: malformed bcrypt hash (expected $2y$<cost 04-31>$ and 53 characters of ./A-Za-z0-9, 60 in all; got ${got})`,
      );
    }
    users.set(user, hash);
  }
  return users;
}

function parseHeaders(file: string, raw: unknown): Record<string, string> {
  const headers = mapping(file, 'http_server_config.headers', raw, Object.keys(HEADERS));
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    const where = `http_server_config.headers.${name}`;
    if (value === null || value === '') continue; // "unset if blank"
    if (typeof value !== 'string' && typeof value !== 'number')
      fail(file, `${where} must be a string`);
    const text = String(value);
    if (!/^[\t\x20-\x7e]*$/.test(text))
      fail(file, `${where} holds a character not allowed in a header`);
    const allowed = HEADERS[name]!;
    if (allowed.length > 0 && !allowed.includes(text)) {
      fail(
        file,
        `invalid value for ${where}: expected one of ${allowed.join(', ')}, got ${JSON.stringify(text)}`,
      );
    }
    out[name] = text;
  }
  return out;
}

const UNITS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** A Go duration ("1s", "1m30s", "250ms", "0") in milliseconds; a bare integer is nanoseconds, as in yaml.v2. */
export function parseGoDuration(value: unknown): number | undefined {
  if (typeof value === 'number')
    return Number.isInteger(value) && value >= 0 ? value / 1e6 : undefined;
  if (typeof value !== 'string') return undefined;
  if (value === '0') return 0;
  const parts = [...value.matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((part) => part[0]).join('') !== value) return undefined;
  return parts.reduce((sum, part) => sum + Number(part[1]) * UNITS[part[2]!]!, 0);
}

function parseRateLimit(file: string, raw: unknown): RateLimit | undefined {
  const limit = mapping(file, 'rate_limit', raw, ['interval', 'burst']);
  const intervalMs = limit.interval === undefined ? 0 : parseGoDuration(limit.interval);
  if (intervalMs === undefined) {
    fail(
      file,
      `rate_limit.interval must be a duration such as 1s or 100ms, got ${JSON.stringify(limit.interval)}`,
    );
  }
  const burst = limit.burst ?? 0;
  if (typeof burst !== 'number' || !Number.isInteger(burst) || burst < 0) {
    fail(file, `rate_limit.burst must be a whole number >= 0, got ${JSON.stringify(limit.burst)}`);
  }
  return intervalMs > 0 ? { intervalMs, burst } : undefined;
}

function parseHttp(file: string, raw: unknown): Record<string, string> {
  const http = mapping(file, 'http_server_config', raw, ['http2', 'headers']);
  optionalBoolean(file, 'http_server_config.http2', http.http2);
  return http.headers === undefined || http.headers === null
    ? {}
    : parseHeaders(file, http.headers);
}

/** Reads and checks the file; throws WebConfigError (exit 2) with the file and the problem. */
export function loadWebConfig(file: string): WebConfig {
  let document: unknown;
  try {
    document = parse(readFileSync(file, 'utf8'));
  } catch (error) {
    fail(file, (error as Error).message);
  }
  if (document === null || document === undefined) return { file };
  const config = mapping(file, 'the top level', document, TOP_KEYS);
  const out: WebConfig = { file };
  // An empty section (`rate_limit:` alone) is YAML null: as if absent.
  const given = (key: string) => config[key] !== undefined && config[key] !== null;
  if (given('tls_server_config')) out.tls = parseTls(file, config.tls_server_config);
  if (given('http_server_config')) out.headers = parseHttp(file, config.http_server_config);
  if (given('basic_auth_users')) out.users = parseUsers(file, config.basic_auth_users);
  if (given('rate_limit')) {
    const rateLimit = parseRateLimit(file, config.rate_limit);
    if (rateLimit) out.rateLimit = rateLimit;
  }
  return out;
}
