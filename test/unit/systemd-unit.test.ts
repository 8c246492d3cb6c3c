// deploy/sockdiag-exporter.service: systemd-analyze verify finds nothing
// to say about it, and it carries what the exporter's behaviour needs.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { COLLECTORS } from '../../src/collectors';
import { parseFlags } from '../../src/cli/flags';
import { ROOT } from '../helpers/paths';
import { unavailable } from '../helpers/requirements';

const UNIT = path.join(ROOT, 'deploy', 'sockdiag-exporter.service');
const text = readFileSync(UNIT, 'utf8');
const setting = (key: string) => new RegExp(`^${key}=(.*)$`, 'm').exec(text)?.[1];

t.test('systemd-analyze verify is silent', { skip: unavailable('systemd-analyze') }, async (t) => {
  // The node binary of this machine, wherever it lives: verify checks that
  // ExecStart's program exists.
  const copy = path.join(
    mkdtempSync(path.join(tmpdir(), 'sockdiag-unit-')),
    'sockdiag-exporter.service',
  );
  writeFileSync(copy, text.replace('ExecStart=/usr/bin/node ', `ExecStart=${process.execPath} `));
  const run = spawnSync('systemd-analyze', ['verify', copy], { encoding: 'utf8' });
  t.equal(run.status, 0, run.stderr);
  t.equal(run.stderr.trim(), '', 'no warnings either (an unknown key is only a warning)');
});

t.test('what the exporter needs from its unit', async (t) => {
  t.equal(setting('ExecReload'), '/bin/kill -HUP $MAINPID', 'reload is SIGHUP');
  t.equal(setting('Environment'), 'MALLOC_ARENA_MAX=2');
  const stop = /^(\d+)s$/.exec(setting('TimeoutStopSec') ?? '');
  const grace = parseFlags([], COLLECTORS).shutdownTimeout;
  t.ok(
    stop && Number(stop[1]) > grace,
    `TimeoutStopSec (${setting('TimeoutStopSec')}) exceeds --web.shutdown-timeout (${grace} s)`,
  );
  const memory = /^(\d+)M$/.exec(setting('MemoryMax') ?? '');
  // The goal under attack is a peak RSS below 300 MiB (test/live/http-attacks.test.ts
  // checks the measured peak against this value), plus the socket buffers
  // cgroup v2 charges to the unit.
  t.ok(
    memory && Number(memory[1]) >= 300,
    `MemoryMax=${setting('MemoryMax')} is above the 300 MiB goal`,
  );
  t.equal(setting('Restart'), 'on-failure');
});
