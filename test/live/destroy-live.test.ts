// The destroy-event subscriber against connections with known byte counts,
// closed every way, in namespaces this test creates; lost events against a
// tiny receive buffer and a reader that does not read; the subscription's
// trace in /proc/net/netlink.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { ROOT } from '../helpers/paths';
import { DestroySubscriber, type DestroySubscriberOptions } from '../../src/diag';
import { diagSubscriptions, Netns } from '../helpers/namespaces';
import { unavailable } from '../helpers/requirements';

const skip = unavailable('namespaces');
const SCENARIO = path.join(ROOT, 'scripts', 'close-scenario.py');

interface Event {
  family: number;
  local: string;
  localPort: number;
  remote: string;
  remotePort: number;
  state: string;
  protocol: number;
  receiveQueue: number;
  sendQueue: number;
  bytesAcked: number;
  bytesReceived: number;
  tcpInfoLength: number;
  infoRetransmits: number;
  totalRetrans: number;
  uid: number;
  inode: number;
}

/** Reads every batch into plain rows (tests only) until stop(). */
function collect(subscriber: DestroySubscriber): { events: Event[]; stop(): Promise<void> } {
  const events: Event[] = [];
  const done = (async () => {
    for await (const batch of subscriber) {
      const c = batch.columns;
      for (let i = 0; i < batch.count; i++) {
        events.push({
          family: c.family[i]!,
          local: batch.localAddress(i),
          localPort: c.localPort[i]!,
          remote: batch.remoteAddress(i),
          remotePort: c.remotePort[i]!,
          state: batch.stateName(i),
          protocol: c.protocol[i]!,
          receiveQueue: c.receiveQueue[i]!,
          sendQueue: c.sendQueue[i]!,
          bytesAcked: c.bytesAcked![i]!,
          bytesReceived: c.bytesReceived![i]!,
          tcpInfoLength: c.tcpInfoLength![i]!,
          infoRetransmits: c.infoRetransmits![i]!,
          totalRetrans: c.totalRetrans![i]!,
          uid: c.uid[i]!,
          inode: c.inode[i]!,
        });
      }
    }
  })();
  return {
    events,
    async stop() {
      subscriber.close();
      await done;
    },
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(check: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!check() && Date.now() < deadline) await sleep(20);
  return check();
}

/** Waits for `count` events, then a quiet while, so that extra events would show. */
async function settle(events: Event[], count: number): Promise<void> {
  await until(() => events.length >= count, 10_000);
  await sleep(300);
}

async function open(
  t: Test,
  ns: Netns,
  options: DestroySubscriberOptions = {},
): Promise<DestroySubscriber> {
  const subscriber = await DestroySubscriber.open({ netns: ns.path, flushMs: 20, ...options });
  t.teardown(() => subscriber.close());
  return subscriber;
}

interface Case {
  clientPort: number;
  clientSent: number;
  serverSent: number;
}
type Report = Record<'inet' | 'inet6', { listenerPort: number; cases: Record<string, Case> }>;

t.test(
  'one event per closed socket, bytes as sent, FIN and RST, IPv4 and IPv6',
  { skip },
  async (t) => {
    const ns = Netns.create();
    t.teardown(() => ns.destroy());
    const subscriber = await open(t, ns);
    const { events, stop } = collect(subscriber);
    const report = JSON.parse(ns.run('python3', [SCENARIO])) as Report;
    await settle(events, 18);
    await stop();
    t.equal(events.length, 18, 'per family: 4 connections x 2 sockets + the listener');
    t.ok(
      events.every((e) => e.state === 'close'),
      'every socket is CLOSE when freed',
    );
    t.ok(
      events.every((e) => e.protocol === 6 && e.tcpInfoLength === 280),
      'TCP, with a 280-byte tcp_info',
    );
    t.ok(
      events.every((e) => e.uid === 0 && e.inode === 0),
      'uid and inode are 0 in destroy events',
    );
    for (const [name, family] of [
      ['inet', 2],
      ['inet6', 10],
    ] as const) {
      const { listenerPort, cases } = report[name];
      const mine = events.filter((e) => e.family === family);
      const client = (c: Case) => mine.filter((e) => e.localPort === c.clientPort);
      const server = (c: Case) =>
        mine.filter((e) => e.localPort === listenerPort && e.remotePort === c.clientPort);
      const pick = (e: Event[]) =>
        e.map((x) => [x.bytesAcked, x.bytesReceived, x.receiveQueue, x.sendQueue]);
      const {
        fin,
        'client-rst': clientRst,
        'server-rst': serverRst,
        unread,
      } = cases as Record<string, Case>;
      // [bytes_acked, bytes_received, Recv-Q, Send-Q]
      t.same(
        pick(client(fin!)),
        [[fin!.clientSent + 2, fin!.serverSent + 1, 1, 0]],
        `${name} FIN, outbound: +SYN +FIN acked, +FIN received (unread)`,
      );
      t.same(
        pick(server(fin!)),
        [[fin!.serverSent + 1, fin!.clientSent + 1, 0, 0]],
        `${name} FIN, inbound: +FIN each way`,
      );
      t.same(
        pick(server(clientRst!)),
        [[clientRst!.serverSent, clientRst!.clientSent, 0, 0]],
        `${name} RST received, inbound: exact bytes, no FIN`,
      );
      const wipedClient = client(clientRst!);
      t.same(
        pick(wipedClient).map((p) => p.slice(0, 3)),
        [[0, 0, 0]],
        `${name} SO_LINGER 0, outbound: counters wiped`,
      );
      t.equal(wipedClient[0]?.remotePort, 0, `${name} SO_LINGER 0, outbound: remote port wiped`);
      t.ok(
        (wipedClient[0]?.sendQueue ?? 0) > 65535,
        `${name} SO_LINGER 0, outbound: Send-Q = max window + 2`,
      );
      t.same(
        pick(client(serverRst!)),
        [[serverRst!.clientSent + 1, serverRst!.serverSent, 0, 0]],
        `${name} RST received, outbound: +SYN, exact bytes`,
      );
      t.same(
        pick(server(unread!)),
        [[0, unread!.clientSent, unread!.clientSent, 0]],
        `${name} closed unread: the bytes still queued`,
      );
      t.same(
        pick(client(unread!)),
        [[unread!.clientSent + 1, 0, 0, 0]],
        `${name} reset by the unread close, outbound`,
      );
      const atListener = mine.filter((e) => e.localPort === listenerPort && e.remotePort === 0);
      t.same(
        atListener.map((e) => e.sendQueue > 65535).sort(),
        [false, true],
        `${name}: the listener, and the inbound socket wiped by its own SO_LINGER 0 close`,
      );
    }
  },
);

t.test('a connection given up after retransmissions', { skip }, async (t) => {
  const ns = Netns.create();
  t.teardown(() => ns.destroy());
  const subscriber = await open(t, ns);
  const { events, stop } = collect(subscriber);
  // lo down mid-connection: the 100 bytes are never acknowledged, and
  // TCP_USER_TIMEOUT (300 ms) gives the connection up.
  const script = `
import socket, subprocess, time
l = socket.socket(); l.bind(('127.0.0.1', 0)); l.listen()
c = socket.socket(); c.connect(l.getsockname()); a, _ = l.accept()
c.setsockopt(socket.IPPROTO_TCP, 18, 300)
subprocess.run(['ip', 'link', 'set', 'lo', 'down'], check=True)
c.send(b'z' * 100)
time.sleep(1.5)
subprocess.run(['ip', 'link', 'set', 'lo', 'up'], check=True)
try:
    c.recv(1)
except OSError as e:
    print(e.errno)
print(c.getsockname()[1])
c.close(); a.close(); l.close()
`;
  const [errno, port] = ns.run('python3', ['-c', script]).trim().split('\n').map(Number);
  t.equal(errno, 110, 'the client saw ETIMEDOUT');
  await settle(events, 3);
  await stop();
  const client = events.find((e) => e.localPort === port);
  t.equal(client?.state, 'close', 'CLOSE, like every other end');
  t.equal(client?.sendQueue, 100, 'the unacknowledged bytes are still queued');
  t.ok(
    (client?.infoRetransmits ?? 0) > 0 && (client?.totalRetrans ?? 0) > 0,
    'retransmissions recorded',
  );
});

t.test('a burst against a tiny receive buffer counts every lost event', { skip }, async (t) => {
  const ns = Netns.create();
  t.teardown(() => ns.destroy());
  const tiny = await open(t, ns, { receiveBufferBytes: 1, batchSize: 64, queueBatches: 256 });
  const roomy = await open(t, ns, { batchSize: 4096, queueBatches: 16 });
  const small = collect(tiny);
  const large = collect(roomy);
  const pairs = 1500;
  const script = `
import socket
l = socket.socket(); l.bind(('127.0.0.1', 0)); l.listen(4096)
held = []
for _ in range(${pairs}):
    c = socket.socket(); c.connect(l.getsockname()); a, _ = l.accept(); held += [c, a]
for s in held: s.close()
l.close()
`;
  ns.run('python3', ['-c', script]);
  const total = pairs * 2 + 1;
  await settle(large.events, total);
  await sleep(300);
  const tinyStats = tiny.stats();
  const roomyStats = roomy.stats();
  await small.stop();
  await large.stop();
  t.ok(
    tinyStats.receiveBufferBytes <= 4608,
    `the tiny buffer: ${tinyStats.receiveBufferBytes} bytes granted (the kernel minimum)`,
  );
  t.ok(
    tinyStats.kernelDrops > 0 && tinyStats.overruns > 0,
    `events lost: ${tinyStats.kernelDrops} in ${tinyStats.overruns} ENOBUFS overruns, not fatal`,
  );
  t.equal(small.events.length, tinyStats.events, 'every counted event was delivered');
  t.equal(
    tinyStats.events + tinyStats.lost,
    total,
    `received ${tinyStats.events} + lost ${tinyStats.lost} = every socket freed`,
  );
  t.equal(tinyStats.queueDrops, 0, 'none lost for want of a reader');
  t.equal(large.events.length, total, 'the default buffer got them all');
  t.same([roomyStats.lost, roomyStats.overruns], [0, 0], 'and lost none');
  t.ok(roomyStats.receiveBufferForced, 'as root the buffer is forced past rmem_max');
  t.equal(
    roomyStats.receiveBufferBytes,
    2 * 16 * 1024 * 1024,
    'the default 16 MiB, doubled by the kernel',
  );
});

t.test('a reader that does not read: bounded queue, drops counted', { skip }, async (t) => {
  const ns = Netns.create();
  t.teardown(() => ns.destroy());
  const subscriber = await open(t, ns, { batchSize: 8, queueBatches: 1, flushMs: 10 });
  ns.run('python3', [
    '-c',
    `
import socket
l = socket.socket(); l.bind(('127.0.0.1', 0)); l.listen(128)
for _ in range(100):
    c = socket.socket(); c.connect(l.getsockname()); a, _ = l.accept(); c.close(); a.close()
l.close()
`,
  ]);
  await until(() => subscriber.stats().events + subscriber.stats().queueDrops >= 201, 5000);
  const stalled = subscriber.stats();
  t.equal(stalled.events, 16, 'one batch queued and one full batch held: 2 x 8 events');
  t.equal(stalled.queueDrops, 201 - 16, 'the rest dropped and counted');
  t.equal(stalled.queued, 1, 'never more than queueBatches waiting');
  const rows: number[] = [];
  for (let i = 0; i < 2; i++) rows.push((await subscriber.next())?.count ?? -1);
  t.same(rows, [8, 8], 'the held events are delivered once read');
  t.equal(subscriber.stats().lost, 201 - 16);
});

t.test('/proc/net/netlink shows the subscription only while it is open', { skip }, async (t) => {
  const ns = Netns.create();
  t.teardown(() => ns.destroy());
  const threads = () => fs.readdirSync('/proc/self/task').length;
  const threadsBefore = threads();
  t.same(diagSubscriptions(ns), [], 'before: no sock_diag socket with group bits');
  const tcp = await DestroySubscriber.open({ netns: ns.path });
  t.same(diagSubscriptions(ns), ['00000005'], 'TCP over both families: groups 1 and 3');
  const withUdp = await DestroySubscriber.open({
    netns: ns.path,
    protocols: ['tcp', 'udp'],
    families: ['inet'],
  });
  t.same(diagSubscriptions(ns).sort(), ['00000003', '00000005'], 'UDP opt-in adds group 2');
  t.equal(threads(), threadsBefore + 2, 'one receiver thread each');
  tcp.close();
  withUdp.close();
  t.same(diagSubscriptions(ns), [], 'after close(): none');
  t.equal(threads(), threadsBefore, 'close() joined both threads');
});

t.test('without CAP_NET_ADMIN the buffer is capped at net.core.rmem_max', { skip }, async (t) => {
  // As nobody, in the host namespace: only the bind, no traffic.
  const diag = JSON.stringify(path.join(ROOT, 'dist', 'src', 'diag'));
  const script = `require(${diag}).DestroySubscriber.open().then((s) => { console.log(JSON.stringify(s.stats())); s.close(); }, (e) => console.log(JSON.stringify({ error: e.message })))`;
  const run = spawnSync(
    'setpriv',
    ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '-e', script],
    { encoding: 'utf8', env: { PATH: process.env.PATH ?? '' } },
  );
  const stats = JSON.parse(run.stdout || '{}') as {
    receiveBufferForced?: boolean;
    receiveBufferBytes?: number;
  };
  const rmemMax = Number(fs.readFileSync('/proc/sys/net/core/rmem_max', 'utf8'));
  t.equal(
    stats.receiveBufferForced,
    false,
    `SO_RCVBUFFORCE refused, SO_RCVBUF used (${run.stderr.trim()})`,
  );
  t.equal(
    stats.receiveBufferBytes,
    2 * Math.min(rmemMax, 16 * 1024 * 1024),
    'rmem_max, doubled by the kernel',
  );
});

t.test('options, errors and closing', { skip }, async (t) => {
  const ns = Netns.create();
  t.teardown(() => ns.destroy());
  await t.rejects(
    DestroySubscriber.open({ protocols: ['sctp' as never] }),
    /Expected one of tcp, udp for protocols\[0\] but received "sctp"/,
  );
  await t.rejects(
    DestroySubscriber.open({ families: [] }),
    /Expected a non-empty array for families/,
  );
  await t.rejects(DestroySubscriber.open({ batchSize: 0 }), RangeError);
  await t.rejects(
    DestroySubscriber.open({ flushMs: 1.5 }),
    /Expected an integer for flushMs but received 1.5/,
  );
  await t.rejects(
    DestroySubscriber.open({ buffer: 1 } as never),
    /Unknown destroy subscriber option buffer/,
  );
  await t.rejects(DestroySubscriber.open({ netns: 'x\0y' }), { code: 'ERR_INVALID_ARG_VALUE' });
  await t.rejects(DestroySubscriber.open({ netns: '/var/run/netns/sdtest-none' }), {
    code: 'ENOENT',
    syscall: 'open',
    message: /does not exist/,
  });
  await t.rejects(DestroySubscriber.open({ netns: '/etc/hostname' }), {
    code: 'EINVAL',
    message: /not a namespace file/,
  });
  const subscriber = await DestroySubscriber.open({ netns: ns.path });
  const waiting = subscriber.next();
  const queued = subscriber.next();
  subscriber.close();
  t.equal(await waiting, null, 'a waiting next() gets null on close()');
  t.equal(await queued, null, 'so does one queued behind it');
  t.equal(await subscriber.next(), null, 'and any later one');
  t.equal(subscriber.stats().events, 0);
});
