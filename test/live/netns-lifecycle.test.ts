// The netns collector's lifecycle: 200 namespaces created and deleted
// across scrapes leave no descriptor behind and pin no namespace (each has
// a veth pair to a witness namespace: the pair goes only when the
// namespace is really freed); and without CAP_SYS_ADMIN the exporter's own
// namespace is still served, the collector fails and the log says why.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs, { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { parseMetrics, type RunningExporter, startExporter } from '../helpers/exporter';
import { Netns } from '../helpers/namespaces';
import { unavailable } from '../helpers/requirements';

const skip = unavailable('namespaces');
const PORT = 19564;
const ROUNDS = 4;
const PER_ROUND = 50;

function batch(commands: string[], netns: string[] = []): void {
  execFileSync('ip', [...netns, '-batch', '-'], {
    input: `${commands.join('\n')}\n`,
    stdio: 'pipe',
  });
}

/** The exporter's open descriptors, by what they are: socket, anon_inode, net (nsfs)... */
function descriptors(exporter: RunningExporter): Map<string, number> {
  const dir = `/proc/${exporter.child.pid}/fd`;
  const out = new Map<string, number>();
  for (const fd of fs.readdirSync(dir)) {
    let target: string;
    try {
      target = fs.readlinkSync(`${dir}/${fd}`);
    } catch {
      continue; // closed meanwhile
    }
    // An nsfs descriptor reads as the path it was opened by (/run/netns/NAME) or net:[inode].
    const kind =
      /^(\w+):/.exec(target)?.[1] ??
      (target.startsWith('/run/netns/') ? 'net' : target.startsWith('/') ? 'file' : target);
    out.set(kind, (out.get(kind) ?? 0) + 1);
  }
  return out;
}

const same = (a: Map<string, number>, b: Map<string, number>) =>
  [...new Set([...a.keys(), ...b.keys()])].every((k) => a.get(k) === b.get(k));

/** The descriptors once `done` holds of them, or after 2 s as they are. */
async function settled(
  exporter: RunningExporter,
  done: (d: Map<string, number>) => boolean,
): Promise<Map<string, number>> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const d = descriptors(exporter);
    if (done(d)) return d;
    await sleep(100);
  }
  return descriptors(exporter);
}

function vethsIn(ns: Netns): number {
  return ns
    .run('ip', ['-o', 'link', 'show', 'type', 'veth'])
    .split('\n')
    .filter((line) => line.trim() !== '').length;
}

function scrape(exporter: RunningExporter): Map<string, number> {
  const response = exporter.get('/metrics');
  if (response.status !== 200) throw new Error(`scrape: ${response.status}`);
  return parseMetrics(response.body);
}

t.test('200 namespaces come and go: no descriptor left, none pinned', { skip }, async (t) => {
  const prefix = `sdchurn-${process.pid}-${randomBytes(2).toString('hex')}`;
  const own = Netns.create('sdchown');
  const witness = Netns.create('sdwitness');
  const made: string[] = [];
  let exporter: RunningExporter | undefined;
  t.teardown(async () => {
    await exporter?.stop();
    if (made.length > 0) batch(made.map((name) => `netns del ${name}`));
    own.destroy();
    witness.destroy();
  });
  exporter = await startExporter(
    own,
    ['--collector.netns', `--collector.netns.include=^${prefix}-`],
    PORT,
  );
  const scraped = (m: Map<string, number>) => m.get('sockdiag_netns_namespaces{state="scraped"}');
  t.equal(scraped(scrape(exporter)), 0, 'none of ours yet');
  const baseline = descriptors(exporter);

  for (let round = 0; round < ROUNDS; round++) {
    const names = Array.from({ length: PER_ROUND }, (_, i) => `${prefix}-${round}-${i}`);
    made.push(...names);
    batch(names.map((name) => `netns add ${name}`));
    batch(
      names.map((name, i) => `link add w${round}x${i} type veth peer name inside netns ${name}`),
      ['-n', witness.name],
    );
    t.equal(vethsIn(witness), PER_ROUND, `round ${round}: ${PER_ROUND} veth pairs to the witness`);
    const m = scrape(exporter);
    t.equal(scraped(m), PER_ROUND, `round ${round}: all ${PER_ROUND} scraped`);
    const added = (d: Map<string, number>, kind: string) =>
      (d.get(kind) ?? 0) - (baseline.get(kind) ?? 0);
    // The scrape's own connection may linger a moment after its response.
    const open = await settled(exporter, (d) => added(d, 'socket') === PER_ROUND);
    t.equal(added(open, 'socket'), PER_ROUND, `round ${round}: one sock_diag socket per namespace`);
    t.equal(added(open, 'net'), PER_ROUND, `round ${round}: and one namespace descriptor`);
    batch(names.map((name) => `netns del ${name}`));
    made.splice(0);
    t.equal(scraped(scrape(exporter)), 0, `round ${round}: the deleted ones are no longer scraped`);
    const after = await settled(exporter, (d) => same(d, baseline));
    t.same(after, baseline, `round ${round}: descriptors back to the baseline`);
    // Freed namespaces take their veth ends along; the kernel does it in
    // the background, so give it a moment.
    let left = vethsIn(witness);
    for (let wait = 0; left > 0 && wait < 100; wait++) {
      await sleep(100);
      left = vethsIn(witness);
    }
    t.equal(left, 0, `round ${round}: every namespace freed (no veth left in the witness)`);
  }
});

t.test(
  'without CAP_SYS_ADMIN: the own namespace served, netns fails and says why',
  { skip },
  async (t) => {
    const own = Netns.create('sdnocap');
    const other = Netns.create('sdnocapother');
    let exporter: RunningExporter | undefined;
    t.teardown(async () => {
      await exporter?.stop();
      own.destroy();
      other.destroy();
    });
    exporter = await startExporter(
      own,
      ['--collector.netns', `--collector.netns.include=^${other.name}$`],
      PORT,
      { user: 65534 },
    );
    const m = scrape(exporter);
    t.equal(m.get('sockdiag_scrape_collector_success{collector="netns"}'), 0, 'netns: success 0');
    t.equal(
      m.get('sockdiag_scrape_collector_success{collector="listeners"}'),
      1,
      'the own namespace is still served',
    );
    t.notOk(
      [...m.keys()].some((name) => name.includes(`netns="${other.name}"`)),
      'no series of the namespace it could not enter',
    );
    // The log is written asynchronously: give its line a moment.
    for (let wait = 0; !/collector failed/.test(exporter.log) && wait < 50; wait++) await sleep(20);
    t.match(
      exporter.log,
      /"collector":"netns".*CAP_SYS_ADMIN/,
      'the log names the missing capability',
    );
    const doctor = exporter.get('/doctor').body;
    t.match(
      doctor,
      /^sockdiag doctor: .*other namespaces could not be looked at/,
      '/doctor says it',
    );
    t.match(doctor, /other namespaces: not looked at: .*CAP_SYS_ADMIN/, 'and why');
    const report = JSON.parse(exporter.get('/doctor', { Accept: 'application/json' }).body) as {
      healthy: boolean;
      status: string;
      namespacesError?: string;
    };
    t.equal(report.healthy, false, '/doctor JSON: not healthy, it could not look');
    t.match(report.namespacesError, /CAP_SYS_PTRACE/);
  },
);

t.test(
  "the DaemonSet's capabilities are enough; without CAP_SYS_ADMIN it says so",
  { skip },
  async (t) => {
    const own = Netns.create('sdcaps');
    const other = Netns.create('sdcapsother');
    let exporter: RunningExporter | undefined;
    t.teardown(async () => {
      await exporter?.stop();
      own.destroy();
      other.destroy();
    });
    const args = ['--collector.netns', `--collector.netns.include=^${other.name}$`];
    // What deploy/kubernetes grants: root with all capabilities dropped but these three.
    exporter = await startExporter(own, args, PORT, {
      capabilities: ['sys_admin', 'sys_ptrace', 'dac_read_search'],
    });
    const status = readFileSync(`/proc/${exporter.child.pid}/status`, 'utf8');
    t.match(status, /^CapEff:\s*0*280004$/m, 'exactly SYS_ADMIN, SYS_PTRACE, DAC_READ_SEARCH');
    const m = scrape(exporter);
    t.equal(m.get('sockdiag_scrape_collector_success{collector="netns"}'), 1, 'netns succeeds');
    for (const collector of ['listeners', 'netstat', 'sockstat', 'sysctl', 'incidents']) {
      t.equal(
        m.get(`sockdiag_scrape_collector_success{collector="${collector}",netns="${other.name}"}`),
        1,
        `${collector} in the other namespace succeeds (no CAP_NET_ADMIN needed)`,
      );
    }
    t.ok(
      (m.get(`sockdiag_sysctl{name="net.core.somaxconn",netns="${other.name}"}`) ?? 0) > 0,
      'its sysctls read inside it',
    );
    await exporter.stop();

    exporter = await startExporter(own, args, PORT, {
      capabilities: ['sys_ptrace', 'dac_read_search'],
    });
    const without = scrape(exporter);
    t.equal(
      without.get('sockdiag_scrape_collector_success{collector="netns"}'),
      0,
      'fails without CAP_SYS_ADMIN',
    );
    for (let wait = 0; !/collector failed/.test(exporter.log) && wait < 50; wait++) await sleep(20);
    t.match(exporter.log, /needs CAP_SYS_ADMIN to enter network namespaces/, 'and says which');
    t.notMatch(exporter.log, /CAP_SYS_PTRACE to read/, 'not the one it has');
  },
);
