// The parser fuzzer (libFuzzer, ASan, UBSan) for 60 s in CI, 10 s locally
// (FUZZ_SECONDS overrides): any finding fails the suite.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import t from 'tap';
import { unavailable } from '../helpers/requirements';
import { ROOT } from '../helpers/paths';

const seconds = process.env.FUZZ_SECONDS ?? (process.env.CI ? '60' : '10');
const skip = unavailable('clang++');

t.test(`fuzz the parser for ${seconds} s`, { skip, timeout: 300_000 }, async (t) => {
  const run = spawnSync('bash', [path.join(ROOT, 'scripts', 'fuzz.sh')], {
    env: { ...process.env, FUZZ_SECONDS: seconds },
    encoding: 'utf8',
  });
  if (run.status !== 0) t.comment(`${run.stdout}${run.stderr}`.slice(-3000));
  t.equal(run.status, 0, 'no finding');
  t.match(run.stderr, /Done \d+ runs in \d+ second/, 'libFuzzer ran to its time limit');
});
