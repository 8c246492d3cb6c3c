// A worker thread's environment torn down in the middle of a dump: Node-API
// calls then fail with JavaScript already stopped, and the receiver thread
// may still settle a batch. The process must live on (it used to abort:
// node-addon-api rethrew the unthrowable error as C++; and a batch queued
// to the receiver thread was freed twice).
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import t from 'tap';
import { HELPERS } from '../helpers/paths';

t.test('worker threads terminated mid-dump leave the process alive', async (t) => {
  const run = spawnSync(process.execPath, [path.join(HELPERS, 'worker-teardown.js'), '30'], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (run.status !== 0) t.comment(run.stderr.slice(-2000));
  t.equal(run.signal, null, 'no signal (no abort, no crash)');
  t.equal(run.status, 0, 'exit status 0');
  t.equal(run.stdout, 'survived\n');
});
