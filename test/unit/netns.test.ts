// The netns collector's pure parts, without root: discovery on a fake procfs
// and run directory (dedupe by inode, the lowest PID, names from pins,
// identity from the cgroup), the capability check, the per-namespace
// labelling, bounded concurrency and the report's namespace section.
import { mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { scratchDir } from '../helpers/paths';
import t, { type Test } from 'tap';
import type { MetricFamily } from '../../src/collectors/collector';
import { mergeFamilies } from '../../src/collectors/families';
import { PROMETHEUS_CONTENT_TYPE, render } from '../../src/http/exposition';
import { renderJson, renderText } from '../../src/incidents/report';
import type { Finding } from '../../src/incidents/types';
import { Discoverer, discoverNamespaces, netnsLabel, stillThere } from '../../src/netns/discovery';
import { labelNamespace } from '../../src/netns/service';
import { eachLimited } from '../../src/netns/set';
import { missingCapabilities, parseEffective } from '../../src/procfs/capabilities';

const UID = '7c1e2d3f-1111-4222-8333-944455566677';
const ID = 'a'.repeat(32) + '0123456789abcdef0123456789abcdef';

function fakeNode(t: Test) {
  const root = mkdtempSync(path.join(scratchDir(), 'sdnetns-unit-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const procfs = path.join(root, 'proc');
  const run = path.join(root, 'run-netns');
  mkdirSync(run, { recursive: true });
  const proc = (pid: number | string, inode: number, cgroup?: string) => {
    mkdirSync(path.join(procfs, String(pid), 'ns'), { recursive: true });
    symlinkSync(`net:[${inode}]`, path.join(procfs, String(pid), 'ns', 'net'));
    if (cgroup !== undefined) {
      writeFileSync(path.join(procfs, String(pid), 'cgroup'), `0::${cgroup}\n`);
    }
  };
  const pin = (name: string) => {
    writeFileSync(path.join(run, name), '');
    return statSync(path.join(run, name)).ino;
  };
  return { procfs, run, proc, pin };
}

t.test('discovery: processes and pins, one entry per inode', async (t) => {
  const node = fakeNode(t);
  const cni = node.pin('cni-0b6f3c1e-9a9d-4f57-8e1a-2a1f0d6c5b4e');
  const idle = node.pin('idle'); // pinned, no process in it
  node.proc('self', 1000);
  node.proc(1, 1000, '/init.scope');
  node.proc(40, 2000, `/kubepods/burstable/pod${UID}/${ID}`);
  node.proc(41, 2000, '/elsewhere'); // a second process: the lowest PID names it
  node.proc(
    300,
    cni,
    `/kubepods.slice/kubepods-pod${UID.replaceAll('-', '_')}.slice/cri-containerd-${ID}.scope`,
  );
  writeFileSync(path.join(node.procfs, 'not-a-pid'), '');
  const found = discoverNamespaces(node.procfs, [node.run, node.run]);
  t.equal(found.ownInode, 1000, 'its own namespace, from self');
  t.equal(found.unreadable, 0);
  const byInode = new Map(found.namespaces.map((ns) => [ns.inode, ns]));
  t.same(
    [...byInode.keys()].sort(),
    [1000, 2000, cni, idle].sort(),
    'one entry per inode, run dirs deduplicated',
  );
  const pod = byInode.get(2000)!;
  t.equal(pod.pid, 40, 'the lowest PID');
  t.equal(pod.path, path.join(node.procfs, '40', 'ns', 'net'), 'opened through that process');
  t.equal(pod.identity.podUid, UID);
  t.equal(pod.identity.containerId, ID);
  t.equal(pod.cgroupLabel, `pod:${UID}/${ID.slice(0, 12)}`);
  t.equal(netnsLabel(pod), '2000', 'no name: the inode');
  const pinned = byInode.get(cni)!;
  t.equal(pinned.name, 'cni-0b6f3c1e-9a9d-4f57-8e1a-2a1f0d6c5b4e', 'the pin names it');
  t.equal(pinned.path, path.join(node.run, pinned.name!), 'opened through the pin');
  t.equal(pinned.pid, 300, 'and a process in it gives the identity');
  t.equal(pinned.identity.podUid, UID, 'systemd driver: underscores back to dashes');
  const empty = byInode.get(idle)!;
  t.equal(empty.pid, undefined, 'a pin no process is in');
  t.same(empty.identity, {});
  t.ok(stillThere(pinned), 'still there');
  rmSync(path.join(node.run, pinned.name!));
  t.notOk(stillThere(pinned), 'gone with its pin');
});

t.test('discovery: a missing procfs or run dir finds nothing, and does not throw', async (t) => {
  const found = discoverNamespaces('/nonexistent/proc', ['/nonexistent/run']);
  t.same(found, { namespaces: [], unreadable: 0, ownInode: null });
});

t.test(
  'discovery remembers settled processes, and reads new, moving and exited ones',
  async (t) => {
    const node = fakeNode(t);
    node.proc('self', 1000);
    node.proc(40, 2000, `/kubepods/burstable/pod${UID}/${ID}`);
    let now = 0;
    const discoverer = new Discoverer({
      procfs: node.procfs,
      runDirs: [node.run],
      rereadMs: 300_000,
      settleMs: 1000,
      clock: () => now,
    });
    const inodes = () =>
      discoverer
        .discover()
        .namespaces.map((ns) => `${ns.inode}:${ns.pid}:${ns.identity.podUid ?? ''}`)
        .sort();
    const move = (pid: number, inode: number, cgroup: string) => {
      rmSync(path.join(node.procfs, String(pid)), { recursive: true });
      node.proc(pid, inode, cgroup);
    };
    t.same(inodes(), [`2000:40:${UID}`], 'first read');
    // A container's first process joins its namespace and cgroup right after it was seen.
    node.proc(50, 1000, '/system.slice/containerd.service');
    now = 10;
    t.same(inodes(), [`1000:50:`, `2000:40:${UID}`], 'a new process is read at once');
    move(50, 3000, `/kubepods/besteffort/pod${UID}/${ID}`);
    now = 20;
    t.same(
      inodes(),
      [`2000:40:${UID}`, `3000:50:${UID}`],
      'not yet settled: read again, its new namespace and cgroup found',
    );
    now = 2000;
    inodes(); // the same namespace a second apart: settled
    move(50, 4000, '/elsewhere');
    now = 3000;
    t.same(
      inodes(),
      [`2000:40:${UID}`, `3000:50:${UID}`],
      'settled: not read again (the move shows at the next full read)',
    );
    rmSync(path.join(node.procfs, '40'), { recursive: true });
    now = 4000;
    t.same(inodes(), [`3000:50:${UID}`], 'an exited process is gone at once');
    node.proc(40, 5000, '/reused');
    now = 5000;
    t.same(inodes(), [`3000:50:${UID}`, '5000:40:'], 'its pid, reused, is read as a new process');
    now = 300_001;
    t.same(inodes(), ['4000:50:', '5000:40:'], 'the full read finds the settled one moved');
  },
);

t.test('capabilities from CapEff', async (t) => {
  const status = (hex: string) => () => `Name:\tnode\nCapPrm:\tffffffff\nCapEff:\t${hex}\n`;
  t.equal(parseEffective('CapEff:\t000001ffffffffff\n'), 0x1ffffffffffn);
  t.equal(parseEffective('no such line'), null);
  t.same(missingCapabilities(['CAP_SYS_ADMIN', 'CAP_SYS_PTRACE'], status('000001ffffffffff')), []);
  t.same(missingCapabilities(['CAP_SYS_ADMIN', 'CAP_SYS_PTRACE'], status('0000000000000000')), [
    'CAP_SYS_ADMIN',
    'CAP_SYS_PTRACE',
  ]);
  // Everything but bit 21.
  const noAdmin = (0x1ffffffffffn & ~(1n << 21n)).toString(16);
  t.same(missingCapabilities(['CAP_SYS_ADMIN', 'CAP_SYS_PTRACE'], status(noAdmin)), [
    'CAP_SYS_ADMIN',
  ]);
  t.same(
    missingCapabilities(['CAP_SYS_ADMIN'], () => {
      throw new Error('EACCES');
    }),
    [],
    'an unreadable status reports nothing missing: the operation itself will say',
  );
});

t.test('labelNamespace: netns on every sample, one shared label object', async (t) => {
  const families: MetricFamily[] = [
    {
      name: 'sockdiag_netstat_total',
      help: 'h',
      type: 'counter',
      values: [{ labels: { group: 'TcpExt', field: 'ListenOverflows' }, value: 3 }],
    },
    {
      name: 'sockdiag_listener_sockets',
      help: 'h',
      type: 'gauge',
      values: [{ labels: { port: '80' }, value: 1 }],
    },
  ];
  const narrow = labelNamespace(families, 'cni-x');
  t.same(narrow[0]!.values, [
    {
      labels: { group: 'TcpExt', field: 'ListenOverflows' },
      sharedLabels: { netns: 'cni-x' },
      value: 3,
    },
  ]);
  t.same(narrow[1]!.values, [
    { labels: { port: '80' }, sharedLabels: { netns: 'cni-x' }, value: 1 },
  ]);
  t.equal(
    narrow[0]!.values[0]!.sharedLabels,
    narrow[1]!.values[0]!.sharedLabels,
    "one netns object for the namespace's samples",
  );
  t.match(
    await render(narrow, PROMETHEUS_CONTENT_TYPE),
    /^sockdiag_listener_sockets\{port="80",netns="cni-x"\} 1$/m,
    'rendered after the own labels',
  );
  t.equal(families[0]!.values[0]!.labels!.netns, undefined, 'the input is left alone');
});

t.test(
  'mergeFamilies: one family per name, every namespace in order, inputs untouched',
  async (t) => {
    const perNamespace = (netns: string): MetricFamily[] => [
      { name: 'a', help: 'h', type: 'gauge', values: [{ labels: { netns }, value: 1 }] },
      { name: 'b', help: 'h', type: 'gauge', values: [{ labels: { netns }, value: 2 }] },
    ];
    const inputs = Array.from({ length: 300 }, (_, i) => perNamespace(`ns${i}`));
    const merged = mergeFamilies(inputs.flat());
    t.same(
      merged.map((f) => f.name),
      ['a', 'b'],
      'first-seen order',
    );
    t.same(
      merged[0]!.values.map((v) => v.labels!.netns),
      inputs.map((_, i) => `ns${i}`),
      'every namespace, in order',
    );
    t.equal(inputs[0]![0]!.values.length, 1, 'the first family given is not appended to');
  },
);

t.test('eachLimited runs at most the limit at once, every item once', async (t) => {
  let running = 0;
  let peak = 0;
  const seen: number[] = [];
  await eachLimited([1, 2, 3, 4, 5, 6, 7], 3, async (n) => {
    running++;
    peak = Math.max(peak, running);
    await new Promise((resolve) => setTimeout(resolve, 5));
    seen.push(n);
    running--;
  });
  t.equal(peak, 3);
  t.same(seen.sort(), [1, 2, 3, 4, 5, 6, 7]);
});

function finding(incident: string, fired: boolean): Finding {
  return {
    incident,
    title: incident,
    severity: 'critical',
    priority: 1,
    fired,
    notice: false,
    evaluated: true,
    details: fired ? ['0.0.0.0:8080: accept queue full (129 of 128)'] : [],
    remedy: 'accept faster',
    evidence: [],
    ...(fired ? { cause: 'the accept queue is full' } : {}),
  } as Finding;
}

t.test('the report names the pod, or says the namespaces were not looked at', async (t) => {
  const scraped = [
    {
      netns: 'cni-1',
      podUid: UID,
      containerId: ID,
      findings: [finding('accept_queue_overflow', true)],
      recent: [],
    },
    { netns: '4026532999', findings: [finding('accept_queue_overflow', false)], recent: [] },
  ];
  const text = renderText([finding('accept_queue_overflow', false)], [], [], { scraped });
  t.match(text, /^sockdiag doctor: no incident detected; 1 other namespace with an incident/);
  t.match(text, /other namespaces: 2 scraped, 1 with an incident/);
  t.match(
    text,
    new RegExp(`pod ${UID} \\(container ${ID.slice(0, 12)}, netns cni-1\\): 1 incident`),
  );
  t.match(text, /0\.0\.0\.0:8080: accept queue full/);
  t.notMatch(text, /4026532999/, 'a quiet namespace is not listed');
  const json = renderJson([finding('accept_queue_overflow', false)], [], [], { scraped });
  t.equal(json.status, 'healthy', 'the own namespace is healthy');
  t.same(
    json.namespaces.map((ns) => ns.status),
    ['incident', 'healthy'],
  );

  const error = 'the netns collector needs CAP_SYS_ADMIN';
  const blind = renderText([finding('accept_queue_overflow', false)], [], [], {
    scraped: [],
    error,
  });
  t.match(blind, /^sockdiag doctor: no incident detected; other namespaces could not be looked at/);
  t.match(blind, /other namespaces: not looked at: the netns collector needs CAP_SYS_ADMIN/);
  const blindJson = renderJson([finding('accept_queue_overflow', false)], [], [], {
    scraped: [],
    error,
  });
  t.equal(blindJson.healthy, false, 'never healthy when it could not look');
  t.equal(blindJson.status, 'incomplete');
  t.equal(blindJson.namespacesError, error);
});
