// The addon built in Debug (asserts on) runs the exporter's paths, once
// plainly and once under valgrind's leak checker.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { unavailable } from '../helpers/requirements';
import { HELPERS, ROOT } from '../helpers/paths';

const DEBUG_ADDON = path.join(ROOT, 'build', 'Debug', 'sockdiag.node');
const EXERCISE = path.join(HELPERS, 'addon-exercise.js');

t.test('Debug build with asserts runs every path', { skip: unavailable('build') }, async (t) => {
  // Builds build/Debug next to build/Release from the same gyp Makefile.
  execFileSync('make', ['-C', path.join(ROOT, 'build'), 'BUILDTYPE=Debug', '-j2'], {
    stdio: 'pipe',
  });
  t.ok(existsSync(DEBUG_ADDON), 'build/Debug/sockdiag.node built');
  const run = spawnSync(process.execPath, ['--expose-gc', EXERCISE], {
    env: { ...process.env, SOCKDIAG_ADDON: DEBUG_ADDON },
    encoding: 'utf8',
  });
  if (run.status !== 0) t.comment(run.stderr);
  t.equal(run.status, 0, 'exit status 0');
  t.equal(run.stdout, 'exercised\n');
});

t.test(
  'no leaks or invalid accesses under valgrind',
  { skip: unavailable('build', 'valgrind') },
  async (t) => {
    if (!existsSync(DEBUG_ADDON)) {
      execFileSync('make', ['-C', path.join(ROOT, 'build'), 'BUILDTYPE=Debug', '-j2'], {
        stdio: 'pipe',
      });
    }
    const run = spawnSync(
      'valgrind',
      [
        '--leak-check=full',
        '--show-leak-kinds=definite',
        '--errors-for-leak-kinds=definite',
        '--error-exitcode=9',
        `--suppressions=${path.join(HELPERS, 'valgrind-node.supp')}`,
        process.execPath,
        '--expose-gc',
        EXERCISE,
      ],
      { env: { ...process.env, SOCKDIAG_ADDON: DEBUG_ADDON }, encoding: 'utf8' },
    );
    if (run.status !== 0) t.comment(run.stderr.slice(-3000));
    t.equal(run.stdout, 'exercised\n', 'the exercise completed');
    t.equal(run.status, 0, 'valgrind found no definite leak and no memory error');
    t.match(run.stderr, /definitely lost: 0 bytes in 0 blocks/);
    t.match(run.stderr, /ERROR SUMMARY: 0 errors/);
  },
);
