// Owner attribution without root: cgroup paths as the kubelet's two cgroup
// drivers, systemd and the container runtimes write them; the cgroup2 mount
// from mountinfo; cgroup ids from a directory tree's inodes; and the
// /proc/PID/fd scan on a fake procfs, with its time budget.
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { scratchDir } from '../helpers/paths';
import t from 'tap';
import { CgroupIndex, findCgroup2Mount } from '../../src/owners/cgroups';
import { cgroupLabel, parseCgroupPath } from '../../src/owners/identity';
import { Owners, ownerText } from '../../src/owners';
import { ProcessIndex } from '../../src/owners/processes';

const ID = 'f'.repeat(32) + '0123456789abcdef0123456789abcdef';
const UID = '7c1e2d3f-1111-4222-8333-944455566677';
const UID_ = UID.replaceAll('-', '_');

t.test('cgroup paths to identities', async (t) => {
  const cases: [string, object][] = [
    ['/system.slice/nginx.service', { unit: 'nginx.service' }],
    ['/user.slice/user-1000.slice/session-3.scope', { unit: 'session-3.scope' }],
    [`/system.slice/docker-${ID}.scope`, { containerId: ID, runtime: 'docker' }],
    [
      `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice/cri-containerd-${ID}.scope`,
      { podUid: UID, qos: 'burstable', containerId: ID, runtime: 'containerd' },
    ],
    [
      `/kubepods.slice/kubepods-pod${UID_}.slice/crio-${ID}.scope`,
      { podUid: UID, qos: 'guaranteed', containerId: ID, runtime: 'cri-o' },
    ],
    [
      `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${UID_}.slice`,
      { podUid: UID, qos: 'besteffort' },
    ],
    [`/kubepods/burstable/pod${UID}/${ID}`, { podUid: UID, qos: 'burstable', containerId: ID }],
    [`/kubepods/pod${UID}/${ID}`, { podUid: UID, qos: 'guaranteed', containerId: ID }],
    [`/kubepods/besteffort/pod${UID}`, { podUid: UID, qos: 'besteffort' }],
    ['/', {}],
    ['/machine.slice/some/deeper/cgroup', {}],
    ['/sdtest-1/system.slice/web.service', { unit: 'web.service' }],
  ];
  for (const [cgroup, identity] of cases) t.same(parseCgroupPath(cgroup), identity, cgroup);
});

t.test('cgroup labels: pod and container when shorter, else the path', async (t) => {
  const long = `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice/cri-containerd-${ID}.scope`;
  t.equal(cgroupLabel(long), `pod:${UID}/${ID.slice(0, 12)}`);
  t.equal(cgroupLabel(`/kubepods/besteffort/pod${UID}`), `pod:${UID}`);
  t.equal(cgroupLabel('system.slice/nginx.service'), '/system.slice/nginx.service');
  t.equal(
    ownerText({
      cgroup: { id: 5, path: long, label: '', identity: parseCgroupPath(long) },
      process: { pid: 9, command: 'envoy' },
    }),
    `envoy, pod ${UID}, container ${ID.slice(0, 12)}`,
  );
  t.equal(ownerText({ cgroup: null, process: { pid: 1, command: 'nginx' } }), 'nginx');
  t.equal(ownerText(undefined), null);
});

t.test('the cgroup2 mount from mountinfo, or the flag', async (t) => {
  const proc = mkdtempSync(path.join(scratchDir(), 'sdproc-'));
  t.teardown(() => rmSync(proc, { recursive: true, force: true }));
  mkdirSync(path.join(proc, 'self'));
  const mountinfo = (lines: string[]) =>
    writeFileSync(path.join(proc, 'self', 'mountinfo'), `${lines.join('\n')}\n`);
  mountinfo([
    '31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755',
    '32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu',
    '41 31 0:38 / /sys/fs/cgroup/uni\\040fied rw,relatime - cgroup2 cgroup2 rw',
  ]);
  t.same(
    findCgroup2Mount(proc, ''),
    { path: '/sys/fs/cgroup/uni fied', source: 'mountinfo' },
    'octal escapes undone',
  );
  t.same(findCgroup2Mount(proc, '/host/sys/fs/cgroup'), {
    path: '/host/sys/fs/cgroup',
    source: 'flag',
  });
  mountinfo(['32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu']);
  t.equal(findCgroup2Mount(proc, ''), null, 'cgroup v1 only');
  mountinfo(['41 31 0:38 /kubepods /sys/fs/cgroup rw - cgroup2 cgroup2 rw']);
  t.equal(findCgroup2Mount(proc, ''), null, 'a mount of a subtree cannot map ids to full paths');
});

t.test('cgroup ids are directory inodes; a miss walks again, rate-limited', async (t) => {
  const mount = mkdtempSync(path.join(scratchDir(), 'sdcgroup-'));
  t.teardown(() => rmSync(mount, { recursive: true, force: true }));
  mkdirSync(path.join(mount, 'system.slice/web.service'), { recursive: true });
  const inode = (relative: string) => Number(statSync(path.join(mount, relative)).ino);
  let now = 0;
  const index = new CgroupIndex({ path: mount, source: 'flag' }, 10_000, () => now);
  const first = await index.resolve([inode('system.slice/web.service'), 0]);
  t.same([...first], [[inode('system.slice/web.service'), '/system.slice/web.service']]);
  mkdirSync(path.join(mount, 'system.slice/db.service'));
  now = 5_000;
  t.same(
    await index.resolve([inode('system.slice/db.service')]),
    new Map(),
    'too soon for another walk',
  );
  now = 16_000;
  t.same(
    [...(await index.resolve([inode('system.slice/db.service')]))],
    [[inode('system.slice/db.service'), '/system.slice/db.service']],
    'found after the refresh interval',
  );
  t.equal(index.rootId, inode('.'));
});

t.test('listeners to processes through a fake /proc, within the budget', async (t) => {
  const proc = mkdtempSync(path.join(scratchDir(), 'sdfd-'));
  t.teardown(() => rmSync(proc, { recursive: true, force: true }));
  for (let pid = 100; pid < 400; pid++) {
    mkdirSync(path.join(proc, String(pid), 'fd'), { recursive: true });
    writeFileSync(path.join(proc, String(pid), 'comm'), `worker${pid}\n`);
    for (let fd = 0; fd < 20; fd++) {
      const target = fd === 7 ? `socket:[${pid * 10}]` : `/dev/null-${fd}`;
      symlinkSync(target, path.join(proc, String(pid), 'fd', String(fd)));
    }
  }
  const index = new ProcessIndex(proc);
  const found = await index.find([1000, 3990, 42], 5000);
  t.same(found.get(1000), { pid: 100, command: 'worker100' });
  t.same(found.get(3990), { pid: 399, command: 'worker399' });
  t.notOk(found.has(42), 'an inode no process holds');
  const scanned = index.processesScanned;
  await index.find([1000, 3990, 42], 5000);
  t.equal(index.processesScanned, scanned, 'known and already-missed inodes cost no new pass');
  let now = 0;
  // Every read of the clock costs 1 ms; scrapes come 15 s apart.
  const sliced = new ProcessIndex(proc, () => (now += 1));
  const partial = await sliced.find([1000, 3990], 10);
  t.ok(partial.size < 2, 'a 10 ms budget stops the scan');
  t.ok(sliced.processesScanned < 300, `${sliced.processesScanned} processes read in the budget`);
  const slicedScanned = sliced.processesScanned;
  await sliced.find([1000, 3990], 10);
  t.equal(
    sliced.processesScanned,
    slicedScanned,
    'a second caller within the second gets no budget of its own',
  );
  for (let round = 0; round < 100 && (await sliced.find([1000, 3990], 10)).size < 2; round++) {
    now += 15_000;
  }
  t.equal((await sliced.find([1000, 3990], 10)).size, 2, 'later scrapes resume where it stopped');

  // The budget is the scan's own time: turns of the event loop between its
  // slices, spent by the rest of a busy scrape, are not taken from it.
  let busy = 0;
  let reads = 0;
  // Each look at the clock costs 0.05 ms of scanning; each turn of the
  // loop, 40 ms of other collectors' work.
  const shared = new ProcessIndex(proc, () => busy + reads++ * 0.05);
  let turns = 0;
  let calling = true;
  const rest = () => {
    busy += 40;
    turns++;
    if (calling) setImmediate(rest);
  };
  setImmediate(rest);
  const wanted = [1000, 1990, 2990, 3990];
  const inBusyLoop = await shared.find(wanted, 50).finally(() => (calling = false));
  t.ok(turns > 1, `the loop turned ${turns} times during the call`);
  t.equal(inBusyLoop.size, wanted.length, 'a busy event loop does not eat the budget');

  // A caller that finds the second's budget spent still joins the pass
  // under way: later calls of anyone's find its inodes.
  let tick = 0;
  const joining = new ProcessIndex(proc, () => (tick += 1));
  await joining.find([42], 10); // starts a pass that nobody's inode ends
  t.equal((await joining.find([1000], 10)).size, 0, 'out of budget: nothing yet');
  for (let round = 0; round < 100; round++) {
    tick += 15_000;
    await joining.find([42], 10);
  }
  t.same(
    (await joining.find([1000], 0)).get(1000),
    { pid: 100, command: 'worker100' },
    "found by the pass other callers drove, without a scan of its caller's own",
  );

  // A pass under way (an inode nobody holds keeps it going), then a new
  // process with a new listener: read next, not after the pass.
  let later = 0;
  const passing = new ProcessIndex(proc, () => (later += 1));
  await passing.find([42], 10);
  mkdirSync(path.join(proc, '500', 'fd'), { recursive: true });
  writeFileSync(path.join(proc, '500', 'comm'), 'late\n');
  symlinkSync('socket:[5000]', path.join(proc, '500', 'fd', '3'));
  later += 15_000;
  t.same(
    (await passing.find([5000], 10)).get(5000),
    { pid: 500, command: 'late' },
    'a process started during a pass is read next',
  );
});

t.test(
  'the fd scan: big processes across slices, one scan for concurrent callers, scopes',
  async (t) => {
    const proc = mkdtempSync(path.join(scratchDir(), 'sdfd-'));
    t.teardown(() => rmSync(proc, { recursive: true, force: true }));
    for (const pid of [10, 20, 30]) {
      mkdirSync(path.join(proc, String(pid), 'fd'), { recursive: true });
      writeFileSync(path.join(proc, String(pid), 'comm'), `big${pid}\n`);
      for (let fd = 0; fd < 3000; fd++) {
        const target = fd === 2999 ? `socket:[${pid}000]` : `socket:[${pid}${fd + 100000}]`;
        symlinkSync(target, path.join(proc, String(pid), 'fd', String(fd)));
      }
    }
    const openFds = () => readdirSync('/proc/self/fd').length;
    const baseline = openFds();
    let clock = 0;
    // Every look at the clock costs 1 ms: a 1000-descriptor process is far over one slice.
    const sliced = new ProcessIndex(proc, () => (clock += 1));
    const first = await sliced.find([10000], 5);
    t.equal(first.size, 0, 'the budget ends inside a big process');
    t.ok(sliced.processesScanned <= 1, 'without finishing even one');
    let rounds = 1;
    while ((await sliced.find([10000], 5)).size === 0 && rounds < 1000) {
      rounds++;
      clock += 15_000;
    }
    t.ok(rounds > 2, `resumed mid-process over ${rounds} scrapes`);
    t.same((await sliced.find([10000], 5)).get(10000), { pid: 10, command: 'big10' });
    t.equal(openFds(), baseline, 'no fd directory left open once the pass found it');
    let tight = 0;
    const cut = new ProcessIndex(proc, () => (tight += 1));
    await cut.find([30000], 3, [10, 20, 30]);
    t.equal(openFds(), baseline, 'a hinted process cut short by the budget is closed, not kept');

    const hinted = new ProcessIndex(proc);
    t.same(
      (await hinted.find([20000], 5000, [20])).get(20000),
      { pid: 20, command: 'big20' },
      "the listener's cgroup's process is read first",
    );
    t.equal(hinted.processesScanned, 1, 'and no other');

    const index = new ProcessIndex(proc);
    const [a, b] = await Promise.all([index.find([10000], 5000), index.find([30000], 5000)]);
    t.equal(index.processesScanned, 3, 'two callers at once: one pass over the three processes');
    t.ok(a.has(10000), 'the first caller found its own');
    t.ok(
      b.has(30000) || (await index.find([30000], 5000)).has(30000),
      'the second on a later look',
    );

    const owners = new Owners({
      procfs: proc,
      cgroupfs: '',
      processes: true,
      processBudgetMs: 5000,
      kernel: '6.18.0',
    });
    t.ok((await owners.processes([10000, 20000])).size === 2);
    owners.forgetExcept(new Set([20000]), 4026532001);
    owners.forgetExcept(new Set([10000]), 0);
    // With process 20 gone from /proc, only the cache can still name its listener.
    rmSync(path.join(proc, '20'), { recursive: true });
    t.same(
      (await owners.processes([20000])).get(20000),
      { pid: 20, command: 'big20' },
      "one namespace's listeners stay cached whatever another's list says",
    );
    owners.forgetScope(4026532001);
    t.equal((await owners.processes([20000])).size, 0, 'forgotten with its namespace');
    // Claims are counted per inode: the same list again and again changes
    // nothing, and an inode goes only when the last scope listing it lets go.
    owners.forgetExcept(new Set([10000]), 7);
    for (let i = 0; i < 3; i++) owners.forgetExcept(new Set([10000]), 0);
    t.ok((await owners.processes([10000])).has(10000), 'found and cached');
    rmSync(path.join(proc, '10'), { recursive: true });
    owners.forgetExcept(new Set(), 0);
    t.same(
      (await owners.processes([10000])).get(10000),
      { pid: 10, command: 'big10' },
      'one scope let go, another still lists it: still cached',
    );
    owners.forgetExcept(new Set([30000]), 7);
    t.equal(
      (await owners.processes([10000])).size,
      0,
      'the last scope listing it let go: forgotten',
    );
  },
);
