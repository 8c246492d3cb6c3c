// Flag parsing, and the CLI's exit codes for bad input.
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import t from 'tap';
import { COLLECTORS } from '../../src/collectors';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { GLOBAL_FLAGS, parseFlags, parseListenAddress } from '../../src/cli/flags';
import { FlagError } from '../../src/errors';
import { CLI, ROOT } from '../helpers/paths';

t.test('defaults', async (t) => {
  const config = parseFlags([], COLLECTORS);
  t.equal(config.listenAddress, ':19561');
  t.equal(config.telemetryPath, '/metrics');
  t.same([...config.enabled].sort(), [
    'incidents',
    'listeners',
    'netstat',
    'sockets',
    'sockstat',
    'sysctl',
  ]);
  t.equal(config.settings.sockets.portsLimit, 32);
  t.equal(config.settings.peers.limit, 10);
});

t.test('node_exporter conventions', async (t) => {
  const config = parseFlags(
    [
      '--web.listen-address=127.0.0.1:19561',
      '--web.telemetry-path',
      '/m',
      '--no-collector.netstat',
      '--collector.peers',
      '--collector.peers.limit=25',
      '--collector.sockets.tcp-info=false',
      '--collector.sockets.parallel-dumps=1',
      '--log.level=debug',
    ],
    COLLECTORS,
  );
  t.equal(config.listenAddress, '127.0.0.1:19561');
  t.equal(config.telemetryPath, '/m');
  t.notOk(config.enabled.has('netstat'));
  t.ok(config.enabled.has('peers'));
  t.equal(config.settings.peers.limit, 25);
  t.equal(config.settings.sockets.tcpInfo, false);
  t.equal(config.settings.sockets.parallelDumps, 1);
  t.equal(config.logLevel, 'debug');
  const only = parseFlags(['--collector.disable-defaults', '--collector.listeners'], COLLECTORS);
  t.same([...only.enabled], ['listeners']);
});

t.test('bad flags name the flag', async (t) => {
  t.throws(
    () => parseFlags(['--nope'], COLLECTORS),
    new FlagError('unknown flag --nope (see --help)'),
  );
  t.throws(
    () => parseFlags(['--collector.peers.limit=many'], COLLECTORS),
    /--collector\.peers\.limit expects a whole number from 0 to 100, got "many"/,
  );
  t.throws(() => parseFlags(['--log.level=loud'], COLLECTORS), /--log\.level must be one of/);
  t.throws(
    () => parseFlags(['--web.listen-address=nowhere'], COLLECTORS),
    /--web\.listen-address expects/,
  );
  t.throws(() => parseFlags(['--web.telemetry-path'], COLLECTORS), /needs a value/);
  t.throws(
    () => parseFlags(['--collector.nosuch'], COLLECTORS),
    /unknown flag --collector\.nosuch/,
  );
});

t.test('limits take decimal whole numbers only; clamps are recorded for the log', async (t) => {
  for (const value of ['1.5', '0x10', '1e3', ' 7', '-1', '']) {
    t.throws(
      () => parseFlags([`--collector.sockets.ports-limit=${value}`], COLLECTORS),
      /--collector\.sockets\.ports-limit expects a whole number from 0 to 1000/,
      `ports-limit ${JSON.stringify(value)}`,
    );
    t.throws(
      () => parseFlags([`--web.max-requests=${value}`], COLLECTORS),
      /--web\.max-requests expects a whole number/,
      `max-requests ${JSON.stringify(value)}`,
    );
    t.throws(
      () => parseFlags([`--web.max-connections=${value}`], COLLECTORS),
      /--web\.max-connections expects a whole number/,
    );
  }
  t.throws(() => parseFlags(['--web.shutdown-timeout=0x5'], COLLECTORS), /expects seconds/);
  t.throws(
    () => parseFlags(['--collector.incidents.churn-ratio=1e3'], COLLECTORS),
    /expects a number/,
  );
  const clamped = parseFlags(['--collector.sockets.ports-limit=5000'], COLLECTORS);
  t.equal(clamped.settings.sockets.portsLimit, 1000);
  t.same(clamped.clamped, [
    '--collector.sockets.ports-limit=5000 is above its maximum: using 1000',
  ]);
  const web = parseFlags(
    ['--web.max-requests=0', '--web.max-connections=64', '--web.shutdown-timeout=2.5'],
    COLLECTORS,
  );
  t.same([web.maxRequests, web.maxConnections, web.shutdownTimeout], [0, 64, 2.5]);
  const defaults = parseFlags([], COLLECTORS);
  t.same([defaults.maxRequests, defaults.maxConnections, defaults.shutdownTimeout], [40, 512, 10]);
});

t.test('listen addresses', async (t) => {
  t.same(parseListenAddress(':19561'), { port: 19561 });
  t.same(parseListenAddress('127.0.0.1:80'), { host: '127.0.0.1', port: 80 });
  t.same(parseListenAddress('[::1]:9'), { host: '::1', port: 9 });
  t.throws(() => parseListenAddress('[::1]:70000'));
});

t.test('CLI exit codes', async (t) => {
  const run = (args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  const help = run(['--help']);
  t.equal(help.status, 0);
  t.match(help.stdout, /--\[no-\]collector\.sockets/);
  t.match(help.stdout, /--web\.listen-address=":19561"/);
  const version = run(['--version']);
  t.equal(version.status, 0);
  t.match(version.stdout, /^sockdiag-exporter \d+\.\d+\.\d+/);
  const bad = run(['--collector.sockets.ports-limit=-3']);
  t.equal(bad.status, 2);
  t.match(bad.stderr, /--collector\.sockets\.ports-limit expects a whole number from 0 to 1000/);
  const blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  const port = (blocker.address() as net.AddressInfo).port;
  const busy = run([
    `--web.listen-address=127.0.0.1:${port}`,
    '--collector.sockets.ports-limit=5000',
  ]);
  blocker.close();
  t.equal(busy.status, 1);
  t.match(busy.stderr, /already in use/);
  t.match(
    busy.stdout,
    /"level":40,.*"msg":"--collector\.sockets\.ports-limit=5000 is above its maximum: using 1000"/,
    'a clamped value is logged as a warning',
  );
});

t.test(
  "every global flag is in the README's Global flags paragraph, with its default",
  async (t) => {
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const paragraph = readme.slice(readme.indexOf('Global flags:'), readme.indexOf('### Errors'));
    for (const flag of GLOBAL_FLAGS) {
      const spelled =
        flag.default === '' ? `\`--${flag.name}\`` : `\`--${flag.name}=${flag.default}\``;
      t.ok(paragraph.includes(spelled), spelled);
    }
  },
);
