// basic_auth_users as exporter-toolkit checks them: no user-name timing
// oracle, cached results (failures too, kept apart from successes),
// bounded bcrypt work off the event loop, a case-insensitive scheme.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import bcrypt from 'bcryptjs';
import pino from 'pino';
import t from 'tap';
import { BasicAuth, parseBasicAuthorization } from '../../src/http/basic-auth';
import { BcryptPool } from '../../src/http/bcrypt-pool';
import { buildServer } from '../../src/http/server';
import { testRegistry } from '../helpers/context';

const basic = (user: string, password: string, scheme = 'Basic') =>
  `${scheme} ${Buffer.from(`${user}:${password}`).toString('base64')}`;

/** A pool that records what it is asked and answers by comparing for real, or waits. */
class RecordingPool extends BcryptPool {
  readonly calls: [string, string | null, number][] = [];
  hold?: Promise<void>;
  override async compare(password: string, hash: string | null, cost = 10): Promise<boolean> {
    this.calls.push([password, hash, cost]);
    await this.hold;
    return hash !== null && bcrypt.compareSync(password, hash);
  }
}

const HASH = bcrypt.hashSync('s3cret', 4);

t.test('the Authorization header: scheme in any case, strict base64', async (t) => {
  t.same(parseBasicAuthorization(basic('alice', 'pw')), { user: 'alice', password: 'pw' });
  t.same(parseBasicAuthorization(basic('alice', 'pw', 'basic')), { user: 'alice', password: 'pw' });
  t.same(parseBasicAuthorization(basic('alice', 'p:w', 'BASIC')), {
    user: 'alice',
    password: 'p:w',
  });
  t.equal(parseBasicAuthorization(basic('alice', 'pw', 'Bearer')), undefined);
  t.equal(parseBasicAuthorization('Basic !!!'), undefined);
  t.equal(parseBasicAuthorization(`Basic ${Buffer.from('nocolon').toString('base64')}`), undefined);
  t.equal(parseBasicAuthorization(undefined), undefined);
  const app = buildServer({
    registry: testRegistry([]),
    log: pino({ level: 'silent' }),
    webConfig: { users: new Map([['prometheus', HASH]]) },
  });
  for (const scheme of ['Basic', 'basic', 'BaSiC']) {
    const response = await app.inject({
      url: '/healthz',
      headers: { authorization: basic('prometheus', 's3cret', scheme) },
    });
    t.equal(response.statusCode, 200, scheme);
  }
});

t.test('unknown users cost one bcrypt of the same cost; results are cached', async (t) => {
  const pool = new RecordingPool();
  const auth = new BasicAuth(new Map([['alice', HASH]]), pool);
  pool.calls.length = 0; // the dummy hash made up front
  t.equal(await auth.check(basic('mallory', 'x')), 'denied');
  t.same(pool.calls, [['x', null, 4]], "compared against a dummy of the users' cost");
  t.equal(await auth.check(basic('alice', 'wrong')), 'denied');
  t.equal(await auth.check(basic('alice', 'wrong')), 'denied');
  t.equal(await auth.check(basic('mallory', 'x')), 'denied');
  t.equal(pool.calls.length, 2, 'a repeated failure costs no bcrypt');
  t.equal(await auth.check(basic('alice', 's3cret')), 'ok');
  t.equal(await auth.check(basic('alice', 's3cret')), 'ok');
  t.equal(pool.calls.length, 3, 'nor a repeated success');
  for (let i = 0; i < 1100; i++) await auth.check(basic('alice', `guess-${i}`));
  const before = pool.calls.length;
  t.equal(await auth.check(basic('alice', 's3cret')), 'ok');
  t.equal(pool.calls.length, before, 'a flood of failures does not push the success out');
  t.equal(await auth.check(basic('alice', 'guess-0')), 'denied');
  t.equal(
    pool.calls.length,
    before + 1,
    'the failure cache is bounded: old failures are forgotten',
  );
});

t.test('identical checks in flight share one compare; a full queue answers busy', async (t) => {
  const pool = new RecordingPool();
  const auth = new BasicAuth(new Map([['alice', HASH]]), pool);
  pool.calls.length = 0;
  let release!: () => void;
  pool.hold = new Promise((resolve) => (release = resolve));
  const same = Array.from({ length: 10 }, () => auth.check(basic('alice', 's3cret')));
  release();
  t.same(await Promise.all(same), Array(10).fill('ok'));
  t.equal(pool.calls.length, 1);

  const small = new BcryptPool(2);
  t.teardown(() => small.close());
  const limited = new BasicAuth(new Map([['alice', bcrypt.hashSync('pw', 8)]]), small);
  const results = await Promise.all(
    Array.from({ length: 6 }, (_, i) => limited.check(basic('alice', `try-${i}`))),
  );
  t.ok(results.includes('busy'), `beyond the queue: busy (${results.join(' ')})`);
  t.ok(results.includes('denied'), 'the queued ones are answered');
});

t.test('bcrypt runs off the event loop, and takes as long for unknown users', async (t) => {
  const pool = new BcryptPool();
  t.teardown(() => pool.close());
  const hash = bcrypt.hashSync('right', 10);
  const auth = new BasicAuth(new Map([['alice', hash]]), pool);
  await new Promise((resolve) => setTimeout(resolve, 300)); // the dummy is made
  const delay = monitorEventLoopDelay({ resolution: 5 });
  delay.enable();
  const timed = async (user: string, password: string) => {
    const started = process.hrtime.bigint();
    await auth.check(basic(user, password));
    return Number(process.hrtime.bigint() - started) / 1e6;
  };
  const known: number[] = [];
  const unknown: number[] = [];
  for (let i = 0; i < 4; i++) {
    known.push(await timed('alice', `wrong-${i}`));
    unknown.push(await timed(`nobody-${i}`, `wrong-${i}`));
  }
  delay.disable();
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!;
  t.comment(
    `cost 10: known user ${median(known).toFixed(0)} ms, unknown ${median(unknown).toFixed(0)} ms`,
  );
  t.ok(
    median(unknown) > median(known) / 2 && median(unknown) < median(known) * 2,
    'no user-name timing oracle',
  );
  t.ok(median(known) > 20, 'it did run bcrypt at cost 10');
  const maxLagMs = delay.max / 1e6;
  t.ok(
    maxLagMs < 40,
    `the event loop was never held more than ${maxLagMs.toFixed(1)} ms (a compare takes ${median(known).toFixed(0)})`,
  );
});
