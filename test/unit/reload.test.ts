// SIGHUP re-reads --web.config.file in the running command line: new
// users, a renewed certificate at the same path, and a bad new file that
// is refused with a log line while the running configuration stays.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { copyFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { TLSSocket } from 'node:tls';
import bcrypt from 'bcryptjs';
import t, { type Test } from 'tap';
import { TestCertificates } from '../helpers/certs';
import { CLI } from '../helpers/paths';
import { unavailable } from '../helpers/requirements';

const skip = unavailable('openssl');

class Cli {
  log = '';
  constructor(readonly child: ChildProcessWithoutNullStreams) {
    child.stdout.on('data', (chunk: Buffer) => (this.log += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (this.log += chunk.toString()));
  }

  async until(pattern: RegExp, from = 0): Promise<void> {
    for (let i = 0; i < 200; i++) {
      if (pattern.test(this.log.slice(from))) return;
      if (this.child.exitCode !== null) throw new Error(`exited: ${this.log}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    throw new Error(`no ${pattern} in ${this.log}`);
  }

  /** Sends SIGHUP and waits for the line that says how it went. */
  async hangUp(): Promise<string> {
    const from = this.log.length;
    this.child.kill('SIGHUP');
    await this.until(
      /"msg":"(web config reloaded|web config not reloaded[^"]*|SIGHUP: [^"]*)"/,
      from,
    );
    return this.log.slice(from);
  }
}

function start(t: Test, args: string[]): Promise<Cli> {
  const child = spawn(process.execPath, [
    CLI,
    '--collector.disable-defaults',
    '--collector.sysctl',
    ...args,
  ]);
  const cli = new Cli(child);
  t.teardown(() => {
    child.kill('SIGKILL');
  });
  return cli.until(/"msg":"listening"/).then(() => cli);
}

/** The port it got for 127.0.0.1:0, from Fastify's "Server listening at" line. */
function portOf(cli: Cli): number {
  return Number(/"msg":"Server listening at https?:\/\/127\.0\.0\.1:(\d+)"/.exec(cli.log)?.[1]);
}

function get(
  p: number,
  user: string,
  password: string,
  ca: Buffer,
): Promise<{ status?: number; fingerprint?: string }> {
  return new Promise((resolve) => {
    https
      .get(
        {
          host: '127.0.0.1',
          port: p,
          path: '/healthz',
          ca,
          agent: false,
          auth: `${user}:${password}`,
        },
        (response) => {
          const fingerprint = (response.socket as TLSSocket).getPeerCertificate().fingerprint256;
          response.resume();
          response.on('end', () => resolve({ status: response.statusCode, fingerprint }));
        },
      )
      .on('error', () => resolve({}));
  });
}

t.test(
  'SIGHUP: new users and a renewed certificate; a bad file keeps the old',
  { skip },
  async (t) => {
    const certs = TestCertificates.standard();
    const ca = certs.read('ca.crt');
    const config = certs.file('web.yml');
    const write = (password: string) =>
      writeFileSync(
        config,
        'tls_server_config:\n  cert_file: live.crt\n  key_file: live.key\n' +
          `basic_auth_users:\n  alice: '${bcrypt.hashSync(password, 4)}'\n`,
      );
    copyFileSync(certs.file('server.crt'), certs.file('live.crt'));
    copyFileSync(certs.file('server.key'), certs.file('live.key'));
    write('first');
    const cli = await start(t, ['--web.listen-address=127.0.0.1:0', `--web.config.file=${config}`]);
    const p = portOf(cli);
    const before = await get(p, 'alice', 'first', ca);
    t.equal(before.status, 200);

    // Renewal as certbot does it: new files at the same paths, then a reload.
    certs.leaf('renewed', 'ca', 'IP:127.0.0.1', 'serverAuth');
    copyFileSync(certs.file('renewed.crt'), certs.file('live.crt'));
    copyFileSync(certs.file('renewed.key'), certs.file('live.key'));
    write('second');
    t.match(await cli.hangUp(), /"msg":"web config reloaded"/);
    const after = await get(p, 'alice', 'second', ca);
    t.equal(after.status, 200, 'the new password');
    t.not(after.fingerprint, before.fingerprint, 'the renewed certificate, without a restart');
    t.equal((await get(p, 'alice', 'first', ca)).status, 401, 'the old password no longer');

    writeFileSync(config, "basic_auth_users:\n  alice: '$2y$10$short'\n");
    const refused = await cli.hangUp();
    t.match(
      refused,
      /"level":50,.*"msg":"web config not reloaded, the running one stays: --web\.config\.file \S+web\.yml: basic_auth_users\.alice: malformed bcrypt hash/,
    );
    t.equal((await get(p, 'alice', 'second', ca)).status, 200, 'still served as before');
    t.equal(cli.child.exitCode, null, 'SIGHUP no longer ends the process');
  },
);

t.test('SIGHUP without a web config is logged and harmless', async (t) => {
  const cli = await start(t, ['--web.listen-address=127.0.0.1:0']);
  t.match(await cli.hangUp(), /"msg":"SIGHUP: no --web\.config\.file to re-read"/);
  t.equal(cli.child.exitCode, null);
});
