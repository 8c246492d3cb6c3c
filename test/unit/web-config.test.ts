// --web.config.file: basic auth with bcrypt hashes, TLS with a self-signed
// certificate, and clear errors for bad files.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import bcrypt from 'bcryptjs';
import pino from 'pino';
import t from 'tap';
import { buildServer } from '../../src/http/server';
import { testRegistry } from '../helpers/context';
import { loadWebConfig } from '../../src/http/web-config';
import { CLI } from '../helpers/paths';

const dir = mkdtempSync(path.join(tmpdir(), 'sockdiag-webconfig-'));

function write(name: string, text: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
}

function app(file: string) {
  const registry = testRegistry([]);
  return buildServer({ registry, log: pino({ level: 'silent' }), webConfig: loadWebConfig(file) });
}

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

t.test('basic auth', async (t) => {
  const hash = bcrypt.hashSync('s3cret', 4);
  const server = app(write('auth.yml', `basic_auth_users:\n  prometheus: '${hash}'\n`));
  const none = await server.inject({ url: '/metrics' });
  t.equal(none.statusCode, 401);
  t.match(none.headers['www-authenticate'], /^Basic realm=/);
  const wrong = await server.inject({
    url: '/metrics',
    headers: { authorization: basic('prometheus', 'guess') },
  });
  t.equal(wrong.statusCode, 401);
  const stranger = await server.inject({
    url: '/metrics',
    headers: { authorization: basic('mallory', 's3cret') },
  });
  t.equal(stranger.statusCode, 401);
  for (let i = 0; i < 2; i++) {
    const ok = await server.inject({
      url: '/metrics',
      headers: { authorization: basic('prometheus', 's3cret') },
    });
    t.equal(ok.statusCode, 200, `right credentials, attempt ${i + 1}`);
  }
});

t.test('bad files name the flag and the problem', async (t) => {
  t.throws(() => loadWebConfig(write('bad1.yml', 'tls_server_config: 3\n')), /must be a mapping/);
  t.throws(
    () => loadWebConfig(write('bad2.yml', 'basic_auth_users:\n  alice: plaintext\n')),
    /basic_auth_users\.alice: malformed bcrypt hash/,
  );
  t.throws(() => loadWebConfig(write('bad3.yml', 'nonsense: 1\n')), /unknown key nonsense/);
  t.throws(
    () =>
      loadWebConfig(
        write('bad4.yml', 'tls_server_config:\n  cert_file: nope.crt\n  key_file: nope.key\n'),
      ),
    /cannot read tls_server_config\.cert_file/,
  );
  const run = spawnSync(
    process.execPath,
    [CLI, `--web.config.file=${path.join(dir, 'bad3.yml')}`],
    {
      encoding: 'utf8',
    },
  );
  t.equal(run.status, 2);
  t.match(run.stderr, /--web\.config\.file .*unknown key nonsense/);
});

const openssl = spawnSync('sh', ['-c', 'command -v openssl']).status === 0;
t.test('TLS with the CLI', { skip: openssl ? false : 'openssl not installed' }, async (t) => {
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-keyout',
      path.join(dir, 'server.key'),
      '-out',
      path.join(dir, 'server.crt'),
    ],
    { stdio: 'pipe' },
  );
  const file = write(
    'tls.yml',
    'tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  min_version: TLS12\n',
  );
  const port = 19500 + Math.floor(Math.random() * 400);
  const child = spawn(process.execPath, [
    CLI,
    `--web.listen-address=127.0.0.1:${port}`,
    `--web.config.file=${file}`,
    '--collector.disable-defaults',
    '--collector.sysctl',
  ]);
  t.teardown(() => {
    child.kill();
  });
  let log = '';
  child.stdout.on('data', (chunk: Buffer) => {
    log += chunk.toString();
  });
  for (let i = 0; i < 100 && !log.includes('"msg":"listening"'); i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  t.match(log, /"tls":true/);
  const body = await new Promise<string>((resolve, reject) => {
    https
      .get({ host: '127.0.0.1', port, path: '/metrics', rejectUnauthorized: false }, (response) => {
        let text = '';
        response.on('data', (chunk: Buffer) => {
          text += chunk.toString();
        });
        response.on('end', () => resolve(text));
      })
      .on('error', reject);
  });
  t.match(body, /sockdiag_sysctl\{name="net\.core\.somaxconn"\}/, 'metrics over HTTPS');
});
