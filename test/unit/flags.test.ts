// Flag parsing, and the CLI's exit codes for bad input.
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import t from 'tap';
import { COLLECTORS } from '../../src/collectors';
import { parseFlags, parseListenAddress } from '../../src/cli/flags';
import { FlagError } from '../../src/errors';
import { CLI } from '../helpers/paths';

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
  const busy = run([`--web.listen-address=127.0.0.1:${port}`]);
  blocker.close();
  t.equal(busy.status, 1);
  t.match(busy.stderr, /already in use/);
});
