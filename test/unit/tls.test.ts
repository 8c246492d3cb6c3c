// tls_server_config against real handshakes on loopback, with certificates
// made by openssl here: every client_auth_type with no certificate, a good
// one and one from a CA nobody trusts; client_allowed_sans; versions,
// cipher suites and curves; a renewed certificate picked up by reload.
import { writeFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import pino from 'pino';
import t, { type Test } from 'tap';
import { createServer, type ExporterServer } from '../../src/http/server';
import { loadWebConfig } from '../../src/http/web-config';
import { TestCertificates } from '../helpers/certs';
import { testRegistry } from '../helpers/context';
import { unavailable } from '../helpers/requirements';

const skip = unavailable('openssl');
const certs = skip ? undefined : TestCertificates.standard();

interface Outcome {
  status?: number;
  error?: string;
  protocol?: string | null;
  cipher?: string;
  fingerprint?: string;
  /** The key exchange group, e.g. X25519, prime256v1, secp384r1. */
  group?: string;
}

interface ClientOptions {
  client?: 'client' | 'other' | 'rogue';
  maxVersion?: 'TLSv1.2' | 'TLSv1.3';
  ecdhCurve?: string;
}

function get(port: number, options: ClientOptions = {}): Promise<Outcome> {
  const identity = options.client
    ? { cert: certs!.read(`${options.client}.crt`), key: certs!.read(`${options.client}.key`) }
    : {};
  return new Promise((resolve) => {
    const request = https.get(
      {
        host: '127.0.0.1',
        port,
        path: '/healthz',
        ca: certs!.read('ca.crt'),
        agent: false,
        timeout: 5000,
        ...identity,
        ...(options.maxVersion ? { maxVersion: options.maxVersion } : {}),
        ...(options.ecdhCurve ? { ecdhCurve: options.ecdhCurve } : {}),
      },
      (response) => {
        const socket = response.socket as TLSSocket;
        const outcome: Outcome = {
          status: response.statusCode,
          protocol: socket.getProtocol(),
          cipher: socket.getCipher().name,
          fingerprint: socket.getPeerCertificate().fingerprint256,
          group: (socket.getEphemeralKeyInfo() as { name?: string } | null)?.name,
        };
        response.resume();
        response.on('end', () => resolve(outcome));
      },
    );
    request.on('timeout', () => request.destroy(new Error('timeout')));
    request.on('error', (error: NodeJS.ErrnoException) =>
      resolve({ error: error.code ?? error.message }),
    );
  });
}

let configs = 0;
function configFile(tls: string): string {
  const file = certs!.file(`web-${++configs}.yml`);
  writeFileSync(
    file,
    `tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n${tls}`,
  );
  return file;
}

async function serve(
  t: Test,
  tls: string,
): Promise<{ port: number; server: ExporterServer; log: string[] }> {
  const log: string[] = [];
  const server = createServer({
    registry: testRegistry([]),
    log: pino({ level: 'warn' }, { write: (line: string) => log.push(line) }),
    webConfig: loadWebConfig(configFile(tls)),
  });
  await server.app.listen({ port: 0, host: '127.0.0.1' });
  t.teardown(() => server.app.close());
  return { port: (server.app.server.address() as AddressInfo).port, server, log };
}

const ok = (outcome: Outcome) => outcome.status === 200;

t.test('client_auth_type, each of the five', { skip }, async (t) => {
  const matrix: [string, string, [boolean, boolean, boolean]][] = [
    // [type, extra keys, [no certificate, good certificate, untrusted certificate]]
    ['NoClientCert', '', [true, true, true]],
    ['RequestClientCert', '', [true, true, true]],
    ['RequireAnyClientCert', '', [false, true, true]],
    ['VerifyClientCertIfGiven', '  client_ca_file: ca.crt\n', [true, true, false]],
    ['RequireAndVerifyClientCert', '  client_ca_file: ca.crt\n', [false, true, false]],
  ];
  for (const [type, extra, expected] of matrix) {
    const { port } = await serve(t, `  client_auth_type: ${type}\n${extra}`);
    const outcomes = [
      await get(port),
      await get(port, { client: 'client' }),
      await get(port, { client: 'rogue' }),
    ];
    t.same(
      outcomes.map(ok),
      expected,
      `${type}: ${JSON.stringify(outcomes.map((o) => o.status ?? o.error))}`,
    );
  }
});

t.test(
  'client_allowed_sans: an exact SAN, IPv6 compared as an address, URIs',
  { skip },
  async (t) => {
    const base = '  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n';
    const dns = await serve(t, `${base}  client_allowed_sans: [prometheus]\n`);
    t.ok(ok(await get(dns.port, { client: 'client' })), 'DNS:prometheus is allowed');
    t.notOk(ok(await get(dns.port, { client: 'other' })), 'DNS:stranger is not');
    t.notOk(ok(await get(dns.port)), 'no certificate');
    t.match(
      dns.log.join(''),
      /TLS connection refused: client certificate has none of client_allowed_sans \(it has: stranger, ::1\)/,
    );
    const ip = await serve(t, `${base}  client_allowed_sans: ['::1']\n`);
    t.ok(
      ok(await get(ip.port, { client: 'other' })),
      "IP ::1 matches the certificate's 0:0:0:0:0:0:0:1",
    );
    const uri = await serve(
      t,
      `${base}  client_allowed_sans: ['spiffe://example.org/prometheus']\n`,
    );
    t.ok(ok(await get(uri.port, { client: 'client' })), 'a URI SAN');
    t.notOk(ok(await get(uri.port, { client: 'other' })));
  },
);

t.test('versions, cipher suites, curves', { skip }, async (t) => {
  const defaults = await serve(t, '');
  t.equal((await get(defaults.port)).protocol, 'TLSv1.3', 'up to TLS 1.3 by default');
  const tls13 = await serve(t, '  min_version: TLS13\n');
  t.notOk(ok(await get(tls13.port, { maxVersion: 'TLSv1.2' })), 'a TLS 1.2 client refused');
  const tls12 = await serve(t, '  max_version: TLS12\n');
  t.equal((await get(tls12.port)).protocol, 'TLSv1.2');
  const cipher = await serve(
    t,
    '  max_version: TLS12\n  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384]\n',
  );
  t.equal(
    (await get(cipher.port)).cipher,
    'ECDHE-ECDSA-AES256-GCM-SHA384',
    'Go name to OpenSSL name',
  );
  const curve = await serve(t, '  curve_preferences: [CurveP384, CurveP256]\n');
  t.equal(
    (await get(curve.port, { ecdhCurve: 'X25519:P-256:P-384' })).group,
    'secp384r1',
    "the server's first choice",
  );
  t.equal((await get(defaults.port, { ecdhCurve: 'X25519:P-256:P-384' })).group, 'X25519');
  const only = await serve(t, '  curve_preferences: [X25519]\n');
  t.notOk(ok(await get(only.port, { ecdhCurve: 'P-256' })), 'no common group: refused');
});

t.test('a renewed certificate is served after reload, without a restart', { skip }, async (t) => {
  const { port, server } = await serve(t, '');
  const before = (await get(port)).fingerprint;
  certs!.leaf('renewed', 'ca', 'IP:127.0.0.1', 'serverAuth');
  const renewed = certs!.file(`web-${++configs}.yml`);
  writeFileSync(renewed, 'tls_server_config:\n  cert_file: renewed.crt\n  key_file: renewed.key\n');
  server.reload(loadWebConfig(renewed));
  const after = await get(port);
  t.equal(after.status, 200);
  t.not(after.fingerprint, before, 'the new certificate');
  t.throws(() => server.reload(loadWebConfig(certs!.file('plain.yml'))), /no such file/);
  writeFileSync(certs!.file('plain.yml'), 'basic_auth_users: {}\n');
  t.throws(
    () => server.reload(loadWebConfig(certs!.file('plain.yml'))),
    /turning TLS off needs a restart/,
  );
  t.equal((await get(port)).fingerprint, after.fingerprint, 'a refused reload keeps what runs');
});

t.test('shutdown closes idle TLS connections at once', { skip }, async (t) => {
  const { port, server } = await serve(t, '');
  const agent = new https.Agent({ keepAlive: true, ca: certs!.read('ca.crt') });
  await new Promise<void>((resolve, reject) => {
    https
      .get({ host: '127.0.0.1', port, path: '/healthz', agent }, (response) => {
        response.resume();
        response.on('end', () => resolve());
      })
      .on('error', reject);
  });
  const started = Date.now();
  t.equal(await server.shutdown(5000), 0, 'nothing left to cut');
  t.ok(Date.now() - started < 500, `closed in ${Date.now() - started} ms, not at the deadline`);
  agent.destroy();
});
