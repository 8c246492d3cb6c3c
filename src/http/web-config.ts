// --web.config.file: TLS and basic auth in the format of the Prometheus
// exporter-toolkit, so one file serves node_exporter and us alike:
//
//   tls_server_config:
//     cert_file: server.crt
//     key_file: server.key
//     min_version: TLS12          # optional: TLS10..TLS13
//   basic_auth_users:
//     alice: $2y$10$...           # bcrypt hash (htpasswd -nBC 10 alice)
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import bcrypt from 'bcryptjs';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { parse } from 'yaml';
import { WebConfigError } from '../errors';

export interface WebConfig {
  tls?: { cert: Buffer; key: Buffer; minVersion?: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3' };
  users?: Map<string, string>;
}

const TLS_VERSIONS = {
  TLS10: 'TLSv1',
  TLS11: 'TLSv1.1',
  TLS12: 'TLSv1.2',
  TLS13: 'TLSv1.3',
} as const;
const KNOWN_KEYS = new Set(['tls_server_config', 'basic_auth_users', 'http_server_config']);

function fail(file: string, message: string): never {
  throw new WebConfigError(`--web.config.file ${file}: ${message}`);
}

function readRelative(file: string, name: string, value: unknown): Buffer {
  if (typeof value !== 'string' || value === '')
    fail(file, `tls_server_config.${name} must be a path`);
  try {
    return readFileSync(path.resolve(path.dirname(file), value));
  } catch (error) {
    fail(file, `cannot read tls_server_config.${name} ${value}: ${(error as Error).message}`);
  }
}

function parseTls(file: string, raw: unknown): WebConfig['tls'] {
  if (raw === null || typeof raw !== 'object') fail(file, 'tls_server_config must be a mapping');
  const tls = raw as Record<string, unknown>;
  const out: NonNullable<WebConfig['tls']> = {
    cert: readRelative(file, 'cert_file', tls.cert_file),
    key: readRelative(file, 'key_file', tls.key_file),
  };
  if (tls.min_version !== undefined) {
    const version = TLS_VERSIONS[String(tls.min_version) as keyof typeof TLS_VERSIONS];
    if (!version)
      fail(
        file,
        `tls_server_config.min_version must be one of ${Object.keys(TLS_VERSIONS).join(', ')}`,
      );
    out.minVersion = version;
  }
  return out;
}

function parseUsers(file: string, raw: unknown): Map<string, string> {
  if (raw === null || typeof raw !== 'object') fail(file, 'basic_auth_users must be a mapping');
  const users = new Map<string, string>();
  for (const [user, hash] of Object.entries(raw as Record<string, unknown>)) {
    if (typeof hash !== 'string' || !/^\$2[abxy]?\$\d\d\$/.test(hash)) {
      fail(file, `basic_auth_users.${user} must be a bcrypt hash`);
    }
    users.set(user, hash);
  }
  return users;
}

export function loadWebConfig(file: string): WebConfig {
  let document: unknown;
  try {
    document = parse(readFileSync(file, 'utf8'));
  } catch (error) {
    fail(file, (error as Error).message);
  }
  if (document === null || document === undefined) return {};
  if (typeof document !== 'object') fail(file, 'expected a YAML mapping');
  const config = document as Record<string, unknown>;
  for (const key of Object.keys(config)) {
    if (!KNOWN_KEYS.has(key)) fail(file, `unknown key ${key}`);
  }
  const out: WebConfig = {};
  if (config.tls_server_config !== undefined) out.tls = parseTls(file, config.tls_server_config);
  if (config.basic_auth_users !== undefined) out.users = parseUsers(file, config.basic_auth_users);
  return out;
}

/**
 * Basic auth on every route. bcrypt is slow by design (~50 ms at cost 10),
 * so verified credentials are remembered by their SHA-256 for the life of
 * the process; Prometheus sends the same ones every scrape.
 */
export function installBasicAuth(app: FastifyInstance, users: Map<string, string>): void {
  const verified = new Set<string>();
  const deny = (reply: FastifyReply) =>
    reply
      .code(401)
      .header('www-authenticate', 'Basic realm="sockdiag-exporter"')
      .type('text/plain; charset=utf-8')
      .send('Unauthorized\n');
  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const header = request.headers.authorization;
    if (!header?.startsWith('Basic ')) return deny(reply);
    const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const user = decoded.slice(0, Math.max(colon, 0));
    const password = decoded.slice(colon + 1);
    const hash = users.get(user);
    if (colon < 0 || hash === undefined) return deny(reply);
    const key = createHash('sha256').update(`${user}\0${password}\0${hash}`).digest('hex');
    if (verified.has(key)) return;
    if (!(await bcrypt.compare(password, hash))) return deny(reply);
    if (verified.size < 1000) verified.add(key);
  });
}
