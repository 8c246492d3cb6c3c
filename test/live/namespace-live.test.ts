// Namespace handles (one long-lived sock_diag socket per namespace) and file
// reads from inside a namespace, against ss, nsenter and the kernel's own
// bookkeeping of namespaces, in namespaces this test creates.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import t from 'tap';
import { ROOT } from '../helpers/paths';
import { unavailable } from '../helpers/requirements';
import {
  Dump,
  type DumpOptions,
  openNamespace,
  readNamespaceFiles,
  readNamespacesFiles,
} from '../../src/diag';
import { addon } from '../../src/diag/native';
import { Netns, testNamespace } from '../helpers/namespaces';
import { endpointKey, parseSs } from '../helpers/ss';
import { dumpRows } from '../helpers/dump-rows';

const skip = unavailable('namespaces');

async function keys(options: DumpOptions): Promise<string[]> {
  const out: string[] = [];
  for (const family of ['inet', 'inet6'] as const) {
    for await (const batch of new Dump({ ...options, family })) {
      for (let i = 0; i < batch.count; i++) {
        out.push(
          `${batch.stateName(i)} ${batch.localAddress(i)}:${batch.columns.localPort[i]} ${batch.remoteAddress(i)}:${batch.columns.remotePort[i]}`,
        );
      }
    }
  }
  return out.sort();
}

function netnsInodesOfProcesses(): Set<number> {
  const inodes = new Set<number>();
  for (const pid of fs.readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      inodes.add(fs.statSync(`/proc/${pid}/ns/net`).ino);
    } catch {
      // a process that ended, or one we may not look at
    }
  }
  return inodes;
}

/** This process's descriptors, as "fd -> what it points at". */
function openDescriptors(): Set<string> {
  const out = new Set<string>();
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try {
      out.add(`${fd} -> ${fs.readlinkSync(`/proc/self/fd/${fd}`)}`);
    } catch {
      // the directory's own descriptor, closed by now
    }
  }
  return out;
}

const added = (now: Set<string>, before: Set<string>) => [...now].filter((fd) => !before.has(fd));

async function until(check: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return true;
}

t.test('one handle serves many dumps, equal to fresh dumps and to ss', { skip }, async (t) => {
  const { ns, holder } = testNamespace(t);
  const listener = await holder.send({ op: 'listen', backlog: 512 });
  // 300 pairs: several datagrams, so that a dump left early has a rest.
  await holder.send({ op: 'connect', host: '127.0.0.1', port: listener.port, count: 300 });
  const v6 = await holder.send({ op: 'listen', family: 'inet6', host: '::1', port: 0 });
  await holder.send({ op: 'connect', family: 'inet6', host: '::1', port: v6.port });
  await holder.send({ op: 'timewait', count: 2 });
  const handle = await openNamespace(ns.path);
  t.teardown(() => handle.close());
  t.equal(handle.inode, fs.statSync(ns.path).ino, 'inode: the namespace file identity');

  const fresh = await keys({ netns: ns.path });
  t.equal(
    fresh.length,
    1 + 300 * 2 + 1 + 2 + 2,
    'listeners, 300 clients and children, v6 pair, TIME_WAIT',
  );
  const ss = parseSs(ns.run('ss', ['-tanH']));
  const viaHandle = await dumpRows({ namespace: handle, protocols: ['tcp'] });
  t.same(
    viaHandle.map(endpointKey).sort(),
    ss.map(endpointKey).sort(),
    'the handle dump equals ss -tan',
  );
  for (let round = 0; round < 3; round++) {
    t.same(await keys({ namespace: handle }), fresh, `round ${round}: same rows as a fresh socket`);
  }
  const together = await Promise.all([
    keys({ namespace: handle }),
    keys({ namespace: handle, states: ['listen'] }),
    keys({ namespace: handle, extensions: { info: true } }),
  ]);
  t.same(together[0], fresh, 'three dumps started at once take turns: the first is whole');
  t.equal(together[1].length, 2, 'the LISTEN-only one sees the two listeners');
  t.same(together[2], fresh, 'the tcp_info one is whole');

  // Left after one row: the kernel still holds the rest of that dump, and
  // the next dump on the socket reads it away before sending its request.
  for await (const _ of new Dump({ namespace: handle, batchSize: 1 })) break;
  t.same(await keys({ namespace: handle }), fresh, 'after a dump left early, the next is whole');

  // Left two rows before the end: the two fills still queued take the
  // last rows, and the receiver thread reads the next datagram, the dump's
  // end (the kernel sends it alone), before anything stops it. The socket
  // then holds nothing more of that dump: the next dump must not wait for
  // a rest that never comes. (Its drain ends at the timeout, so a wrong
  // guess costs timeoutMs, not rows: time is the only sign of it.)
  const rows = fresh.length;
  for (const extensions of [{}, { info: true, skmeminfo: true }]) {
    let taken = 0;
    for await (const _ of new Dump({ namespace: handle, legacy: true, batchSize: 1, extensions })) {
      if (++taken === rows - 2) break;
    }
    const started = performance.now();
    t.same(await keys({ namespace: handle, timeoutMs: 4000 }), fresh, 'the next dump is whole');
    const ms = performance.now() - started;
    t.ok(ms < 2000, `and did not wait out its 4 s timeout (${ms.toFixed(0)} ms)`);
  }
});

t.test('two dumps on one socket at the same time: EBUSY, not mixed rows', { skip }, async (t) => {
  const { ns, holder } = testNamespace(t);
  const listener = await holder.send({ op: 'listen', backlog: 512 });
  await holder.send({ op: 'connect', host: '127.0.0.1', port: listener.port, count: 200 });
  const handle = await openNamespace(ns.path);
  t.teardown(() => handle.close());
  const params = {
    family: 2,
    protocol: 6,
    states: 0xfff,
    extensions: 0,
    legacy: false,
    timeoutMs: 5000,
    batchRows: 1,
    groups: 0,
    namespace: handle.native,
  };
  // Below the TypeScript turns, straight on the addon.
  const first = new addon.Dump(params);
  const second = new addon.Dump(params);
  t.equal((await first.next())?.count, 1, 'the first dump runs');
  await t.rejects(
    second.next(),
    { errno: os.constants.errno.EBUSY, syscall: 'sendto', message: /another dump is running/ },
    'the second is refused',
  );
  await first.close();
  await second.close();
  t.same(
    (await keys({ namespace: handle })).length,
    1 + 400,
    'the socket still serves a whole dump',
  );
});

t.test('a closed handle keeps no namespace alive', { skip }, async (t) => {
  const subject = Netns.create();
  const observer = Netns.create();
  t.teardown(() => {
    subject.destroy();
    observer.destroy();
  });
  // A veth pair across the two: when the subject namespace really dies,
  // the kernel destroys its end, and with it the observer's end.
  execFileSync('ip', [
    'link',
    'add',
    'sdA',
    'netns',
    subject.name,
    'type',
    'veth',
    'peer',
    'name',
    'sdB',
    'netns',
    observer.name,
  ]);
  const peerExists = () =>
    spawnSync('ip', ['-n', observer.name, 'link', 'show', 'sdB']).status === 0;
  t.ok(peerExists(), 'the observer sees its veth end');
  const holder = subject.holder();
  await holder.send({ op: 'listen', port: 0 });
  await keys({ netns: subject.path }); // warm: threads and lazy descriptors exist before counting
  const before = openDescriptors();
  const handle = await openNamespace(subject.path);
  const inode = handle.inode;
  t.ok(
    netnsInodesOfProcesses().has(inode),
    'the holder process shows the namespace inode in /proc (the check can see it)',
  );
  const held = added(openDescriptors(), before);
  t.equal(held.length, 2, 'the handle holds two descriptors');
  t.ok(
    held.some((d) => / -> socket:\[\d+\]$/.test(d)),
    'its socket',
  );
  t.ok(
    held.some((d) => d.endsWith(`/netns/${subject.name}`) || / -> net:\[\d+\]$/.test(d)),
    'and the namespace descriptor kept for reading its files',
  );
  t.equal((await keys({ namespace: handle })).length, 1, 'the holder listener');
  await holder.exit();
  subject.destroy(); // ip netns del
  await new Promise((resolve) => setTimeout(resolve, 500));
  t.ok(peerExists(), 'deleted but pinned by the open socket: the veth pair still exists');
  t.equal(
    (await keys({ namespace: handle })).length,
    0,
    'the pinned namespace still answers dumps (its listener closed)',
  );

  handle.close();
  t.ok(
    await until(() => !peerExists(), 10_000),
    'after close() the namespace is freed: its veth pair is gone',
  );
  t.notOk(netnsInodesOfProcesses().has(inode), 'its inode is in no /proc/*/ns/net');
  t.same(added(openDescriptors(), before), [], 'no descriptor left beyond those open before');
  for (const descriptor of held)
    t.notOk(openDescriptors().has(descriptor), `${descriptor} is closed`);
  await t.rejects(
    openNamespace(subject.path),
    { code: 'ENOENT', syscall: 'open' },
    'the path is gone: ENOENT',
  );
});

t.test('files read inside a namespace equal nsenter sysctl -n', { skip }, async (t) => {
  const ns = Netns.create();
  t.teardown(() => ns.destroy());
  ns.sysctl('net.core.somaxconn', 777);
  ns.sysctl('net.ipv4.tcp_fin_timeout', 17);
  ns.sysctl('net.ipv4.ip_local_port_range', '20000 30000');
  const names = ['net.core.somaxconn', 'net.ipv4.tcp_fin_timeout', 'net.ipv4.ip_local_port_range'];
  const files = names.map((name) => `/proc/sys/${name.replaceAll('.', '/')}`);
  const nsenter = (name: string) =>
    execFileSync('nsenter', [`--net=${ns.path}`, 'sysctl', '-n', name], {
      encoding: 'utf8',
    }).trim();
  const handle = await openNamespace(ns.path);
  t.teardown(() => handle.close());
  for (const [what, source] of [
    ['by path', ns.path],
    ['through a handle', handle],
  ] as const) {
    const read = await readNamespaceFiles(source, [...files, '/proc/sys/net/ipv4/no_such_sysctl']);
    names.forEach((name, i) => {
      t.equal(
        read[i]?.content?.trim().replace(/\s+/g, ' '),
        nsenter(name).replace(/\s+/g, ' '),
        `${what}: ${name}`,
      );
    });
    t.same(
      read[3],
      { path: '/proc/sys/net/ipv4/no_such_sysctl', code: 'ENOENT', errno: -2, syscall: 'open' },
      `${what}: a missing file is a per-file ENOENT`,
    );
  }
  t.not(
    fs.readFileSync(files[0]!, 'utf8').trim(),
    '777',
    'the host value differs (the check can fail)',
  );
  const [dev] = await readNamespaceFiles(ns.path, ['/proc/thread-self/net/dev']);
  t.same(
    dev?.content
      ?.split('\n')
      .slice(2)
      .filter(Boolean)
      .map((line) => line.trim().split(':')[0]),
    ['lo'],
    '/proc/thread-self/net follows the thread into the namespace: only lo',
  );
  const [small] = await readNamespaceFiles(ns.path, [files[2]!], { maxBytes: 3 });
  t.same(small, { path: files[2], content: '200', truncated: true }, 'maxBytes cuts and says so');
});

t.test(
  'one trip reads many namespaces, each its own, and one failing fails alone',
  { skip },
  async (t) => {
    const spaces = [Netns.create(), Netns.create(), Netns.create()];
    t.teardown(() => spaces.forEach((ns) => ns.destroy()));
    spaces.forEach((ns, i) => ns.sysctl('net.core.somaxconn', 701 + i));
    const somaxconn = '/proc/sys/net/core/somaxconn';
    const handles = await Promise.all(spaces.map((ns) => openNamespace(ns.path)));
    t.teardown(() => handles.forEach((handle) => handle.close()));
    const closed = await openNamespace(spaces[0]!.path);
    closed.close();
    const results = await readNamespacesFiles([
      { netns: handles[0]!, files: [somaxconn, '/proc/sys/net/ipv4/no_such_sysctl'] },
      { netns: '/etc/hostname', files: [somaxconn] },
      { netns: spaces[1]!.path, files: [somaxconn] },
      { netns: closed, files: [somaxconn] },
      { netns: handles[2]!, files: ['/proc/thread-self/net/dev', somaxconn] },
    ]);
    t.equal(results.length, 5, 'one result per request, in order');
    const nsenter = (ns: Netns) =>
      execFileSync('nsenter', [`--net=${ns.path}`, 'sysctl', '-n', 'net.core.somaxconn'], {
        encoding: 'utf8',
      }).trim();
    const files = (i: number) => {
      const result = results[i];
      if (!Array.isArray(result)) throw new Error(`request ${i} failed: ${String(result)}`);
      return result;
    };
    t.equal(files(0)[0]?.content?.trim(), nsenter(spaces[0]!), 'first namespace, through a handle');
    t.equal(files(0)[1]?.code, 'ENOENT', 'a missing file is still a per-file ENOENT');
    t.match(
      results[1],
      { code: 'EINVAL', message: /not a namespace file/ },
      'not a namespace: that request alone',
    );
    t.equal(
      files(2)[0]?.content?.trim(),
      nsenter(spaces[1]!),
      'second namespace, by path, after a failed one',
    );
    t.match(results[3], { code: 'ERR_SOCKDIAG_CLOSED' }, 'a closed handle: that request alone');
    t.equal(
      files(4)[1]?.content?.trim(),
      nsenter(spaces[2]!),
      'third namespace, after a closed handle',
    );
    t.same(
      files(4)[0]
        ?.content?.split('\n')
        .slice(2)
        .filter(Boolean)
        .map((line) => line.trim().split(':')[0]),
      ['lo'],
      "/proc/thread-self/net is the namespace's, not the one before it",
    );
    t.same(
      new Set(spaces.map((ns) => nsenter(ns))),
      new Set(['701', '702', '703']),
      'the three namespaces differ, so a read from the wrong one would show',
    );
    await t.rejects(
      readNamespacesFiles([{ netns: spaces[0]!.path, files: ['/x\0y'] }]),
      {
        code: 'ERR_INVALID_ARG_VALUE',
      },
      'an invalid argument rejects the whole call',
    );
    t.same(await readNamespacesFiles([]), [], 'nothing asked, nothing read');
  },
);

t.test('namespace errors are Node-shaped and say what to do', { skip }, async (t) => {
  const ns = Netns.create();
  t.teardown(() => ns.destroy());
  await t.rejects(openNamespace('/var/run/netns/sdtest-none'), {
    code: 'ENOENT',
    syscall: 'open',
    errno: -2,
  });
  await t.rejects(openNamespace('/etc/hostname'), {
    code: 'EINVAL',
    syscall: 'ioctl',
    message: /not a namespace file/,
  });
  await t.rejects(openNamespace('/proc/self/ns/uts'), {
    code: 'EINVAL',
    message: /not a network namespace/,
  });
  await t.rejects(readNamespaceFiles('/etc', ['/proc/sys/net/core/somaxconn']), {
    code: 'EINVAL',
    message: /not a namespace file/,
  });
  t.throws(() => new Dump({ netns: 'a\0b' }), {
    code: 'ERR_INVALID_ARG_VALUE',
    message: /without null bytes/,
  });
  await t.rejects(openNamespace('/var/run/netns/x\0y'), { code: 'ERR_INVALID_ARG_VALUE' });
  await t.rejects(readNamespaceFiles(ns.path, ['/proc/sys\0/x']), {
    code: 'ERR_INVALID_ARG_VALUE',
  });
  await t.rejects(
    (async () => {
      for await (const _ of new Dump({ netns: '/etc/hostname' })) {
        // none
      }
    })(),
    { code: 'EINVAL', message: /not a namespace file/ },
    'a dump with a wrong netns path says the same',
  );
  const handle = await openNamespace(ns.path);
  handle.close();
  t.throws(() => new Dump({ namespace: handle }), { code: 'ERR_SOCKDIAG_CLOSED' });
  await t.rejects(readNamespaceFiles(handle, ['/proc/sys/net/core/somaxconn']), {
    code: 'ERR_SOCKDIAG_CLOSED',
  });
  t.throws(() => new Dump({ namespace: {} as never }), /Expected a NamespaceHandle/);
  t.throws(() => new Dump({ namespace: handle, netns: ns.path }), /exclusive/);

  // Without CAP_SYS_ADMIN (as nobody): setns is refused, and the message names the capability.
  const script = `require(${JSON.stringify(path.join(ROOT, 'dist', 'src', 'diag'))}).openNamespace(${JSON.stringify(ns.path)}).then(() => console.log('{}'), (e) => console.log(JSON.stringify({ code: e.code, syscall: e.syscall, message: e.message })))`;
  const run = spawnSync(
    'setpriv',
    ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '-e', script],
    { encoding: 'utf8', env: { PATH: process.env.PATH ?? '' } }, // no test-runner hooks in the child
  );
  const error = JSON.parse(run.stdout || '{}') as {
    code?: string;
    syscall?: string;
    message?: string;
  };
  t.equal(error.code, 'EPERM', `unprivileged: EPERM (${run.stderr.trim()})`);
  t.equal(error.syscall, 'setns');
  t.match(error.message, /needs CAP_SYS_ADMIN/);
});
