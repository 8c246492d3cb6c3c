// --web.config.file mistakes: each is refused when the file is read, with
// one line that names the file, the key and the problem; at startup the
// command line exits 2 with that line and nothing else (no stack trace).
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import bcrypt from 'bcryptjs';
import t from 'tap';
import { loadWebConfig, parseGoDuration } from '../../src/http/web-config';
import { TestCertificates } from '../helpers/certs';
import { CLI } from '../helpers/paths';
import { unavailable } from '../helpers/requirements';

const skip = unavailable('openssl');
const certs = skip ? undefined : TestCertificates.standard();
const GOOD_HASH = bcrypt.hashSync('s3cret', 4).replace(/^\$2b\$/, '$2y$'); // as htpasswd writes it

let count = 0;
function file(text: string): string {
  const name = certs!.file(`config-${++count}.yml`);
  writeFileSync(name, text);
  return name;
}

const TLS = 'tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n';

/** The CLI on `config`: its exit status and stderr. */
function startWith(config: string): { status: number | null; stderr: string } {
  const run = spawnSync(
    process.execPath,
    [CLI, `--web.config.file=${config}`, '--web.listen-address=127.0.0.1:0'],
    { encoding: 'utf8', timeout: 20_000 },
  );
  return { status: run.status, stderr: run.stderr };
}

t.test(
  'bad TLS material and hashes: exit 2, one line naming the file and the problem',
  { skip },
  async (t) => {
    writeFileSync(certs!.file('garbage.pem'), 'not a certificate at all\n');
    const truncated = readFileSync(certs!.file('server.crt'), 'latin1').replace(
      /\n[A-Za-z0-9+/=]{20,}\n/,
      '\nAAAA\n',
    );
    writeFileSync(certs!.file('truncated.crt'), truncated);
    const cases: [string, string, RegExp][] = [
      [
        'swapped cert and key',
        'tls_server_config:\n  cert_file: server.key\n  key_file: server.crt\n',
        /tls_server_config\.cert_file \S+server\.key holds a private key and tls_server_config\.key_file \S+server\.crt a certificate: cert_file and key_file are swapped/,
      ],
      [
        'a key of another certificate',
        'tls_server_config:\n  cert_file: server.crt\n  key_file: client.key\n',
        /tls_server_config\.key_file \S+client\.key is not the key of the certificate in tls_server_config\.cert_file \S+server\.crt/,
      ],
      [
        'a file that is no certificate',
        'tls_server_config:\n  cert_file: garbage.pem\n  key_file: server.key\n',
        /tls_server_config\.cert_file \S+garbage\.pem holds no PEM certificate/,
      ],
      [
        'a damaged certificate',
        'tls_server_config:\n  cert_file: truncated.crt\n  key_file: server.key\n',
        /tls_server_config\.cert_file \S+truncated\.crt is not a valid certificate/,
      ],
      [
        'a malformed bcrypt hash',
        "basic_auth_users:\n  alice: '$2y$10$short'\n",
        /basic_auth_users\.alice: malformed bcrypt hash \(expected \$2y\$<cost 04-31>\$ and 53 characters .*got 12 characters\)/,
      ],
      [
        'a bcrypt cost out of range',
        `basic_auth_users:\n  alice: '${GOOD_HASH.replace('$04$', '$03$')}'\n`,
        /basic_auth_users\.alice: malformed bcrypt hash/,
      ],
      [
        'a missing client CA file',
        `${TLS}  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: nope.crt\n`,
        /cannot read tls_server_config\.client_ca_file \S+nope\.crt: ENOENT/,
      ],
    ];
    for (const [what, text, expected] of cases) {
      const config = file(text);
      t.throws(() => loadWebConfig(config), expected, what);
      const run = startWith(config);
      t.equal(run.status, 2, `${what}: exit 2`);
      const lines = run.stderr.trimEnd().split('\n');
      t.equal(lines.length, 1, `${what}: one line`);
      t.match(
        lines[0],
        new RegExp(
          `^sockdiag-exporter: error: --web\\.config\\.file ${config.replace(/[.]/g, '\\.')}: `,
        ),
        `${what}: names the file`,
      );
      t.match(lines[0], expected, `${what}: says what is wrong`);
    }
  },
);

t.test('unknown keys and values are refused, by name', { skip }, async (t) => {
  const cases: [string, RegExp][] = [
    [
      'tls_server_config:\n  cert_filse: server.crt\n',
      /tls_server_config: unknown key cert_filse \(known: cert, key, /,
    ],
    [
      `${TLS}  client_auth_type: Sometimes\n`,
      /invalid tls_server_config\.client_auth_type "Sometimes" \(one of NoClientCert, RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven, RequireAndVerifyClientCert\)/,
    ],
    [`${TLS}  client_ca_file: ca.crt\n`, /client CAs are configured without a client_auth_type/],
    [
      `${TLS}  client_allowed_sans: [a]\n`,
      /client_allowed_sans needs a client_auth_type that asks for a certificate/,
    ],
    [
      `${TLS}  cipher_suites: [TLS_RSA_WITH_RC4_128_SHA, TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]\n`,
      /unknown cipher suite TLS_RSA_WITH_RC4_128_SHA in tls_server_config\.cipher_suites/,
    ],
    [
      `${TLS}  curve_preferences: [X448]\n`,
      /unknown curve X448 in tls_server_config\.curve_preferences \(known: CurveP256, CurveP384, CurveP521, X25519\)/,
    ],
    [
      `${TLS}  min_version: TLS14\n`,
      /unknown TLS version "TLS14" in tls_server_config\.min_version/,
    ],
    [
      `${TLS}  min_version: TLS13\n  max_version: TLS12\n`,
      /min_version TLS13 is above max_version TLS12/,
    ],
    [
      `${TLS}  cert: inline\n`,
      /give tls_server_config\.cert or tls_server_config\.cert_file, not both/,
    ],
    [
      'tls_server_config:\n  key_file: server.key\n',
      /tls_server_config\.cert_file \(or cert\) is missing/,
    ],
    [
      'http_server_config:\n  headers:\n    X-Forwarded-For: me\n',
      /http_server_config\.headers: unknown key X-Forwarded-For \(known: Strict-Transport-Security, /,
    ],
    [
      'http_server_config:\n  headers:\n    X-Frame-Options: allow\n',
      /invalid value for http_server_config\.headers\.X-Frame-Options: expected one of deny, sameorigin, got "allow"/,
    ],
    [
      'http_server_config:\n  headers:\n    X-Content-Type-Options: sniff\n',
      /expected one of nosniff/,
    ],
    [
      'http_server_config:\n  headers:\n    Content-Security-Policy: "a\\r\\nSet-Cookie: x"\n',
      /Content-Security-Policy holds a character not allowed in a header/,
    ],
    ['http_server_config:\n  http2: maybe\n', /http_server_config\.http2 must be true or false/],
    ['http_server_config:\n  http3: true\n', /http_server_config: unknown key http3/],
    [
      'rate_limit:\n  interval: soon\n',
      /rate_limit\.interval must be a duration such as 1s or 100ms, got "soon"/,
    ],
    ['rate_limit:\n  interval: 1s\n  burst: -1\n', /rate_limit\.burst must be a whole number >= 0/],
    ['rate_limit:\n  interval: 1s\n  period: 3\n', /rate_limit: unknown key period/],
    ['basic_auth_users: [alice]\n', /basic_auth_users must be a mapping/],
    ['- just a list\n', /the top level must be a mapping/],
  ];
  for (const [text, expected] of cases) t.throws(() => loadWebConfig(file(text)), expected, text);
});

t.test('what exporter-toolkit accepts loads', { skip }, async (t) => {
  const block = (name: string) => certs!.read(name).toString().trimEnd().replace(/^/gm, '    ');
  const inline = `tls_server_config:\n  cert: |\n${block('server.crt')}\n  key: |\n${block('server.key')}\n`;
  t.ok(loadWebConfig(file(inline)).tls, 'inline cert and key');
  const full = loadWebConfig(
    file(
      `${TLS}  client_auth_type: RequireClientCert\n  prefer_server_cipher_suites: false\n` +
        '  cipher_suites: [TLS_AES_128_GCM_SHA256, TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256]\n' +
        'http_server_config:\n  http2: false\n  headers:\n    X-Frame-Options: sameorigin\n    X-XSS-Protection: ""\n' +
        `rate_limit:\n  interval: 1m30s\n  burst: 3\nbasic_auth_users:\n  alice: '${GOOD_HASH}'\n`,
    ),
  );
  t.equal(
    full.tls?.clientAuth,
    'RequireAnyClientCert',
    "RequireClientCert is exporter-toolkit's old spelling",
  );
  t.equal(
    full.tls?.context.ciphers,
    'ECDHE-ECDSA-AES128-GCM-SHA256',
    'TLS 1.3 suites are not configurable, as in Go',
  );
  t.equal(full.tls?.context.honorCipherOrder, false);
  t.same(full.headers, { 'X-Frame-Options': 'sameorigin' }, 'a blank header is unset');
  t.same(full.rateLimit, { intervalMs: 90_000, burst: 3 });
  t.equal(full.users?.get('alice'), GOOD_HASH);
  t.equal(
    loadWebConfig(file('rate_limit:\n  interval: 0\n  burst: 5\n')).rateLimit,
    undefined,
    'interval 0 disables',
  );
  t.same(
    loadWebConfig(file('')),
    { file: certs!.file(`config-${count}.yml`) },
    'an empty file is no settings',
  );
});

t.test('Go durations', async (t) => {
  t.equal(parseGoDuration('1s'), 1000);
  t.equal(parseGoDuration('1m30s'), 90_000);
  t.equal(parseGoDuration('250ms'), 250);
  t.equal(parseGoDuration('1.5h'), 5_400_000);
  t.equal(parseGoDuration('0'), 0);
  t.equal(parseGoDuration(1_000_000), 1, 'an integer is nanoseconds, as yaml.v2 decodes it');
  for (const bad of ['1', 's', '1x', '-1s', '1s ', '', 1.5, true])
    t.equal(parseGoDuration(bad), undefined, String(bad));
});
