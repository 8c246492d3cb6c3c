// The release as an operator installs it: the npm tarball on a host with no
// compiler (prebuilt addon), and the Debian package through dpkg. Each
// installed exporter runs in a test namespace and is scraped; its view of a
// small socket table is checked against ss. Needs root (namespaces, dpkg, a
// system user); skips with the reason otherwise.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { parseMetrics, type RunningExporter } from '../helpers/exporter';
import type { SocketHolder } from '../helpers/holder';
import { type Netns, testNamespace } from '../helpers/namespaces';
import { unavailable } from '../helpers/requirements';
import {
  binOf,
  changedPaths,
  cleanEnv,
  dpkg,
  fileSnapshot,
  hiddenToolchainPath,
  machineLock,
  packTarball,
  reachable,
  ROOT,
  run,
  startInNamespace,
  TOOLCHAIN,
} from '../helpers/package';
import { parseSs } from '../helpers/ss';

const PORT = 19561;
const VERSION = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'))
  .version as string;
const UNIT = '/lib/systemd/system/sockdiag-exporter.service';

function missing(tools: string[], why: string): string | null {
  const absent = tools.filter((tool) => reachable(process.env.PATH ?? '', [tool]).length === 0);
  return absent.length ? `${absent.join(', ')} not installed (${why})` : null;
}

function debSkip(): string | null {
  const tools = missing(
    ['dpkg-deb', 'dpkg-shlibdeps', 'lintian', 'systemd-analyze', 'setpriv'],
    'scripts/install-deps.sh installs dpkg-dev, lintian and systemd',
  );
  if (tools) return tools;
  if (isInstalled()) {
    return 'sockdiag-exporter is installed here (or its conffiles are): the test installs and purges its own (dpkg --purge sockdiag-exporter first)';
  }
  return null;
}

/** Known to dpkg in any state but not-installed (config-files after dpkg -r counts). */
function isInstalled(): boolean {
  const status = run('dpkg-query', ['-W', '-f=${Status}', 'sockdiag-exporter']).stdout.trim();
  return status !== '' && !status.endsWith(' not-installed');
}

/** One listener with three connections waiting for accept(), and the exporter's own. */
async function buildTable(holder: SocketHolder): Promise<void> {
  await holder.send({ op: 'listen', port: 8080, backlog: 16 });
  await holder.send({ op: 'connect', host: '127.0.0.1', port: 8080, count: 3 });
}

function checkScrape(t: Test, exporter: RunningExporter, ns: Netns): void {
  const response = exporter.get('/metrics');
  t.equal(response.status, 200, 'GET /metrics answers 200');
  const metrics = parseMetrics(response.body);
  t.equal(
    metrics.get('sockdiag_scrape_collector_success{collector="sockets"}'),
    1,
    'socket dump succeeded',
  );
  t.equal(
    metrics.get('sockdiag_scrape_collector_success{collector="listeners"}'),
    1,
    'listener dump succeeded',
  );
  const ss = parseSs(ns.run('ss', ['-Hltn']));
  const listening = ['inet', 'inet6']
    .map(
      (family) =>
        metrics.get(`sockdiag_sockets{protocol="tcp",family="${family}",state="listen"}`) ?? 0,
    )
    .reduce((a, b) => a + b, 0);
  t.equal(listening, ss.length, 'TCP listeners: as many as ss -ltn shows');
  const web = ss.find((row) => row.localPort === 8080);
  t.equal(web?.recvQ, 3, 'ss: three connections wait on :8080');
  t.equal(
    metrics.get(
      'sockdiag_listener_accept_queue_length{family="inet",address="127.0.0.1",port="8080"}',
    ),
    web?.recvQ,
    'accept queue of :8080 equals ss',
  );
}

const skip =
  unavailable('namespaces') || missing(['git', 'tar'], 'the test packs the checkout') || false;
t.test('packaging', { skip }, async (t) => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'sockdiag-package-'));
  t.teardown(() => fs.rmSync(work, { recursive: true, force: true }));
  const tarball = packTarball(work);

  t.test('npm tarball', async (t) => {
    const listing = run('tar', ['-tzf', tarball]).output.split('\n');
    t.ok(
      listing.some((file) => /^package\/prebuilds\/linux-x64\/[^/]+\.node$/.test(file)),
      'carries the linux-x64 prebuild',
    );
    t.ok(
      listing.includes('package/npm-shrinkwrap.json'),
      'carries npm-shrinkwrap.json (the tested versions)',
    );
    t.notOk(
      listing.some((file) => file.startsWith('package/build/')),
      'carries no local build/',
    );
    const hidden = hiddenToolchainPath(path.join(work, 'bin'));
    t.same(reachable(hidden, TOOLCHAIN), [], 'no compiler, make or python on the hidden PATH');
    const install = (tgz: string, prefix: string) =>
      run(
        'npm',
        ['install', '-g', '--prefix', prefix, '--no-audit', '--no-fund', '--prefer-offline', tgz],
        cleanEnv({ PATH: hidden }),
      );

    t.test('npm install -g runs where no compiler is', async (t) => {
      const prefix = path.join(work, 'prefix');
      const installed = install(tarball, prefix);
      t.equal(installed.status, 0, 'npm install -g succeeded', { output: installed.output });
      const packageDir = path.join(prefix, 'lib', 'node_modules', 'sockdiag-exporter');
      t.notOk(fs.existsSync(path.join(packageDir, 'build')), 'nothing was compiled (no build/)');
      const bin = path.join(prefix, 'bin', 'sockdiag-exporter');
      t.equal(
        fs.realpathSync(bin),
        fs.realpathSync(binOf(packageDir)),
        'the bin is package.json\'s "bin"',
      );
      const version = run(bin, ['--version'], cleanEnv({ PATH: hidden }));
      t.equal(version.status, 0, 'sockdiag-exporter --version exits 0', { output: version.output });
      t.equal(version.stdout, `sockdiag-exporter ${VERSION} (node ${process.version})\n`);

      const { ns, holder, stopFirst } = testNamespace(t);
      await buildTable(holder);
      const argv = ['env', `PATH=${hidden}`, bin, `--web.listen-address=127.0.0.1:${PORT}`];
      const exporter = await startInNamespace(ns, argv, PORT);
      stopFirst(exporter);
      checkScrape(t, exporter, ns);
    });

    t.test(
      'control: without the prebuild, the same install needs a compiler and fails',
      async (t) => {
        const unpacked = path.join(work, 'control');
        fs.mkdirSync(unpacked);
        execFileSync('tar', ['-xzf', tarball, '-C', unpacked]);
        fs.rmSync(path.join(unpacked, 'package', 'prebuilds'), { recursive: true });
        const stripped = path.join(work, 'control.tgz');
        execFileSync('tar', ['-czf', stripped, '-C', unpacked, 'package']);
        const installed = install(stripped, path.join(work, 'control-prefix'));
        t.not(installed.status, 0, 'npm install -g fails');
        t.match(installed.output, /gyp ERR!/, 'because node-gyp could not build');
      },
    );
  });

  t.test('Debian package', { skip: debSkip() ?? false }, async (t) => {
    const release = await machineLock('/run/lock/sockdiag-exporter-package-test.lock');
    t.teardown(async () => {
      try {
        if (isInstalled()) await dpkg(['--purge', 'sockdiag-exporter']);
      } finally {
        release();
      }
    });
    const built = run('bash', [
      'scripts/deb/build.sh',
      ...['--tarball', tarball, '--out', path.join(work, 'deb'), '--compression', 'gzip'],
    ]);
    t.equal(built.status, 0, 'scripts/deb/build.sh (npm run deb) succeeded', {
      output: built.output,
    });
    const deb = built.stdout.trim().split('\n').pop() ?? '';
    t.equal(path.basename(deb), `sockdiag-exporter_${VERSION.replace(/-/g, '~')}_amd64.deb`);
    t.match(
      run('dpkg-deb', ['-f', deb, 'Depends']).stdout,
      /^nodejs \(>= 20\), /,
      'depends on nodejs >= 20',
    );
    const lintian = run('lintian', ['--info', '--pedantic', deb]);
    const tags = lintian.output.split('\n').filter((line) => /^[EWIPX]: /.test(line));
    t.same(
      { status: lintian.status, tags },
      { status: 0, tags: [] },
      'lintian --info --pedantic: clean',
    );

    const before = fileSnapshot();
    const installed = await dpkg(['-i', deb]);
    t.equal(installed.status, 0, 'dpkg -i', { output: installed.output });
    const added = changedPaths(before, fileSnapshot());
    t.ok(
      ['/usr/bin/sockdiag-exporter', '/etc/default/sockdiag-exporter'].every((file) =>
        added.includes(file),
      ),
      'control: the file list sees what dpkg -i added',
    );
    checkInstalled(t);

    await t.test('the installed service command, as its user, in a namespace', async (t) => {
      const { ns, holder, stopFirst } = testNamespace(t);
      await buildTable(holder);
      const serviceCommand =
        '. /etc/default/sockdiag-exporter && exec /usr/bin/sockdiag-exporter $ARGS';
      const asUser = [
        'setpriv',
        '--reuid=sockdiag-exporter',
        '--regid=sockdiag-exporter',
        '--init-groups',
      ];
      const exporter = await startInNamespace(ns, [...asUser, 'sh', '-c', serviceCommand], PORT);
      stopFirst(exporter);
      const uid = run('id', ['-u', 'sockdiag-exporter']).stdout.trim();
      const status = fs.readFileSync(`/proc/${exporter.child.pid}/status`, 'utf8');
      t.match(
        status,
        new RegExp(`^Uid:\\t${uid}\\t${uid}\\t`, 'm'),
        'runs as the sockdiag-exporter user',
      );
      t.match(
        fs.readlinkSync(`/proc/${exporter.child.pid}/exe`),
        /^\/usr\/bin\/node/,
        'on /usr/bin/node',
      );
      checkScrape(t, exporter, ns);
    });

    const removed = await dpkg(['-r', 'sockdiag-exporter']);
    t.equal(removed.status, 0, 'dpkg -r', { output: removed.output });
    const kept = changedPaths(before, fileSnapshot());
    const expectedKept =
      /^(\/etc\/default\/sockdiag-exporter|\/var\/lib\/dpkg\/info\/sockdiag-exporter\.\w+|.*systemd.*sockdiag-exporter\.service(\.dsh-also)?|\/var\/lib\/systemd\/deb-systemd-helper-masked)$/;
    t.same(
      kept.filter((file) => !expectedKept.test(file)),
      [],
      'dpkg -r leaves only the conffile and systemd state',
    );
    t.ok(kept.includes('/etc/default/sockdiag-exporter'), 'dpkg -r keeps the conffile');
    t.equal(run('getent', ['passwd', 'sockdiag-exporter']).status, 0, 'dpkg -r keeps the user');

    const purged = await dpkg(['--purge', 'sockdiag-exporter']);
    t.equal(purged.status, 0, 'dpkg --purge', { output: purged.output });
    t.same(
      changedPaths(before, fileSnapshot()),
      [],
      'after purge, the file list is as before the install',
    );
    t.not(run('getent', ['passwd', 'sockdiag-exporter']).status, 0, 'purge removes the user');
    t.not(run('getent', ['group', 'sockdiag-exporter']).status, 0, 'purge removes the group');
  });
});

/** What dpkg -i must have set up: user, unit, enablement, defaults. */
function checkInstalled(t: Test): void {
  const user = run('getent', ['passwd', 'sockdiag-exporter']).stdout.trim().split(':');
  t.equal(user[6], '/usr/sbin/nologin', 'a system user with no shell');
  t.ok(Number(user[2]) < 1000, 'in the system UID range');
  const verify = run('systemd-analyze', ['verify', UNIT]);
  t.same(
    { status: verify.status, output: verify.output },
    { status: 0, output: '' },
    'systemd-analyze verify: clean',
  );
  const broken = path.join(
    fs.mkdtempSync(path.join(os.tmpdir(), 'sockdiag-unit-')),
    'sockdiag-exporter.service',
  );
  fs.writeFileSync(
    broken,
    fs.readFileSync(UNIT, 'utf8').replace(/^ExecStart=\S+/m, 'ExecStart=/nonexistent/exporter'),
  );
  t.not(
    run('systemd-analyze', ['verify', broken]).status,
    0,
    'control: verify rejects an ExecStart that is not there',
  );
  fs.rmSync(path.dirname(broken), { recursive: true });
  t.ok(
    fs.existsSync('/etc/systemd/system/multi-user.target.wants/sockdiag-exporter.service'),
    'the unit is enabled',
  );
  t.match(
    fs.readFileSync('/etc/default/sockdiag-exporter', 'utf8'),
    /^ARGS="--web\.listen-address=:19561"$/m,
  );
}
