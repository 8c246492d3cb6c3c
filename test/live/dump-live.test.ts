// The dump against `ss` on the same socket table, in a namespace this test
// builds: states, queues, addresses, ports, timers, listener skmem.
import { readdirSync, readFileSync } from 'node:fs';
import t, { type Test } from 'tap';
import { unavailable } from '../helpers/requirements';
import { Dump } from '../../src/diag';
import { type DumpRow, dumpRows } from '../helpers/dump-rows';
import { type SocketHolder } from '../helpers/holder';
import { testNamespace } from '../helpers/namespaces';
import { endpointKey, normaliseAddress, parseSs, type SsRow } from '../helpers/ss';
import { SCAN_COLUMNS } from '../../src/scan/columns';

const skip = unavailable('namespaces');

t.test('dump equals ss on a built table', { skip }, async (t) => {
  const { ns, holder } = testNamespace(t);
  const table = await buildTable(holder);
  const netns = ns.path;
  const tcp = await dumpRows({
    netns,
    protocols: ['tcp'],
    extensions: { info: true, skmeminfo: true },
  });
  const udp = await dumpRows({ netns, protocols: ['udp'] });

  t.test('ss -tan: states, queues, endpoints', async (t) => {
    compareWithSs(t, tcp, parseSs(ns.run('ss', ['-tanH'])));
  });
  t.test('ss -uan: UDP sockets', async (t) => {
    compareWithSs(t, udp, parseSs(ns.run('ss', ['-uanH'])));
    t.equal(udp.length, 3, 'two unconnected and one connected UDP socket');
  });
  t.test('ss -tlnm: listener accept queue, backlog and skmem', async (t) => {
    const ss = parseSs(ns.run('ss', ['-tlnmH']));
    const listeners = tcp.filter((row) => row.state === 'listen');
    t.equal(listeners.length, ss.length, 'same number of listeners');
    for (const expected of ss) {
      const row = listeners.find((r) => endpointKey(r) === endpointKey(expected));
      t.ok(row, `listener ${endpointKey(expected)} dumped`);
      t.equal(row?.recvQ, expected.recvQ, `${endpointKey(expected)} accept queue`);
      t.equal(row?.sendQ, expected.sendQ, `${endpointKey(expected)} backlog`);
      t.same(row?.skmem, expected.skmem, `${endpointKey(expected)} skmem`);
    }
    const full = listeners.find((r) => r.localPort === table.backlogPort);
    t.equal(full?.recvQ, 3, 'three connections wait for accept()');
    t.equal(full?.sendQ, 5, 'backlog 5');
  });
  t.test('ss -tno: timers', async (t) => {
    const ss = parseSs(ns.run('ss', ['-tanoH']));
    for (const expected of ss) {
      const row = tcp.find((r) => endpointKey(r) === endpointKey(expected));
      t.equal(row?.timer, expected.timer ?? 'none', `${endpointKey(expected)} timer`);
    }
    const keepalive = tcp.filter((r) => r.timer === 'keepalive');
    t.equal(keepalive.length, 1, 'exactly the SO_KEEPALIVE socket has a keepalive timer');
    t.equal(keepalive[0]?.localPort, table.keepalivePort);
    t.equal(tcp.filter((r) => r.state === 'time_wait').length, 3, 'three TIME_WAIT sockets');
    t.ok(
      tcp.filter((r) => r.state === 'time_wait').every((r) => r.timer === 'time_wait'),
      'TIME_WAIT sockets carry the time_wait timer',
    );
  });
  t.test('tcp_info on full sockets only', async (t) => {
    for (const row of tcp) {
      const expected = row.state === 'time_wait' || row.state === 'syn_recv' ? 0 : 280;
      t.equal(row.tcpInfoLength, expected, `${row.state} ${endpointKey(row)} tcp_info length`);
    }
    const established = tcp.filter((r) => r.state === 'established');
    t.ok(
      established.every((r) => (r.rtt ?? 0) > 0),
      'established sockets have an RTT',
    );
  });
  t.test('recycled batch buffers give the same rows', async (t) => {
    const rows: string[] = [];
    const dump = new Dump({ netns, legacy: true, batchSize: 2, extensions: { info: true } });
    const buffers = new Set<ArrayBufferLike>();
    for await (const batch of dump) {
      buffers.add(batch.columns.family.buffer);
      for (let i = 0; i < batch.count; i++) {
        rows.push(
          `${batch.stateName(i)} ${batch.columns.localPort[i]}>${batch.columns.remotePort[i]}`,
        );
      }
      dump.recycle(batch);
    }
    const expected = tcp.map((r) => `${r.state} ${r.localPort}>${r.peerPort}`);
    t.same(rows.sort(), expected.sort(), 'same rows with two buffers in turn');
    t.ok(buffers.size <= 3, `at most three buffers for ${rows.length} rows (${buffers.size})`);
  });
  t.test("a dump of the scan's columns: those columns, the same values", async (t) => {
    const dump = new Dump({
      netns,
      legacy: true,
      batchSize: 2,
      extensions: { info: true, skmeminfo: true },
      columns: [...SCAN_COLUMNS],
    });
    const rows: string[] = [];
    let names: string[] = [];
    for await (const batch of dump) {
      names = Object.keys(batch.columns);
      const c = batch.columns;
      for (let i = 0; i < batch.count; i++) {
        rows.push(
          `${c.family[i]} ${batch.stateName(i)} ${c.receiveQueue[i]} ${c.sendQueue[i]} ` +
            `${normaliseAddress(batch.localAddress(i))}:${c.localPort[i]}>` +
            `${normaliseAddress(batch.remoteAddress(i))}:${c.remotePort[i]} ${c.tcpInfoLength![i]}`,
        );
      }
      dump.recycle(batch);
    }
    t.same(names.sort(), [...SCAN_COLUMNS].sort(), 'exactly the columns asked for');
    const expected = tcp.map(
      (r) =>
        `${r.family} ${r.state} ${r.recvQ} ${r.sendQ} ${r.local}:${r.localPort}>` +
        `${r.peer}:${r.peerPort} ${r.tcpInfoLength}`,
    );
    t.same(rows.sort(), expected.sort(), 'the same rows as a dump of every column');
  });
  t.test('the legacy single-walk request returns the same rows', async (t) => {
    const legacy = await dumpRows({
      netns,
      protocols: ['tcp'],
      legacy: true,
      extensions: { info: true, skmeminfo: true },
    });
    const key = (r: DumpRow) => `${r.family} ${r.state} ${r.recvQ} ${r.sendQ} ${endpointKey(r)}`;
    t.same(legacy.map(key).sort(), tcp.map(key).sort(), 'both families from one walk');
    t.ok(legacy.some((r) => r.family === 10) && legacy.some((r) => r.family === 2));
  });
  t.test('v4-mapped and IPv6 rows', async (t) => {
    t.ok(
      tcp.some((r) => r.family === 10 && r.local === '::ffff:127.0.0.1'),
      'dual-stack child reported as AF_INET6 with a v4-mapped address',
    );
    t.ok(tcp.some((r) => r.family === 10 && r.local === '::1' && r.state === 'established'));
  });
});

t.test('kernel port filters equal ss filters', { skip }, async (t) => {
  const { ns, holder } = testNamespace(t);
  const ports: number[] = [];
  for (const port of [7001, 7002, 7003, 7500]) {
    await holder.send({ op: 'listen', port, backlog: 16 });
    await holder.send({ op: 'connect', host: '127.0.0.1', port, count: 2 });
    ports.push(port);
  }
  const cases: [string, Parameters<typeof dumpRows>[0]['filter']][] = [
    ['sport = :7002', { localPort: 7002 }],
    ['sport >= :7002 and sport <= :7003', { localPort: { min: 7002, max: 7003 } }],
    ['sport >= :7003', { localPort: { min: 7003 } }],
    ['( sport = :7001 or sport = :7500 )', { localPort: [7001, 7500] }],
    ['dport = :7001', { remotePort: 7001 }],
    [
      '( sport = :7001 or sport = :7003 ) and dport >= :1024',
      { localPort: [7001, 7003], remotePort: { min: 1024 } },
    ],
    ['dport <= :7002 and dport >= :7001', { remotePort: { min: 7001, max: 7002 } }],
    ['( sport = :7001 or dport = :7002 )', { any: [{ localPort: 7001 }, { remotePort: 7002 }] }],
    [
      'not ( sport = :7001 or dport = :7500 ) and not sport = :7003',
      {
        all: [
          { not: { any: [{ localPort: 7001 }, { remotePort: 7500 }] } },
          { not: { localPort: 7003 } },
        ],
      },
    ],
  ];
  for (const [expression, filter] of cases) {
    const ours = await dumpRows({ netns: ns.path, protocols: ['tcp'], filter });
    const theirs = parseSs(ns.run('ss', ['-tanH', expression]));
    t.ok(theirs.length > 0, `${expression}: ss finds sockets`);
    t.same(ours.map(endpointKey).sort(), theirs.map(endpointKey).sort(), expression);
  }
});

t.test('the receiver thread runs 5 nice steps below the process', { skip }, async (t) => {
  // 1,800 sockets with tcp_info fill about 25 datagrams, more than the
  // worker's first two: with one row taken, the receiver thread blocks,
  // alive, with the next datagram read, waiting for a batch to parse into.
  const { ns, holder } = testNamespace(t);
  const listener = await holder.send({ op: 'listen', backlog: 2048 });
  await holder.send({ op: 'connect', host: '127.0.0.1', port: listener.port, count: 900 });
  const niceOf = (stat: string) => Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
  const threadNices = () =>
    readdirSync('/proc/self/task').map((tid) => {
      try {
        return niceOf(readFileSync(`/proc/self/task/${tid}/stat`, 'utf8'));
      } catch {
        return NaN; // a thread that just ended
      }
    });
  const own = niceOf(readFileSync('/proc/self/stat', 'utf8'));
  // Pool threads that ran a fill stay niced: count the threads at + 5.
  const nicedBefore = threadNices().filter((n) => n === Math.min(own + 5, 19)).length;
  const dump = new Dump({ netns: ns.path, extensions: { info: true }, batchSize: 1 });
  const iterator = dump[Symbol.asyncIterator]();
  const first = await iterator.next();
  t.equal(first.value?.count, 1, 'one row taken');
  // The first rows come from the worker's own receive: the receiver thread
  // may not have lowered its priority yet when they arrive.
  const niced = Math.min(own + 5, 19);
  const nicedNow = () => threadNices().filter((n) => n === niced).length;
  for (let wait = 0; wait < 100 && nicedNow() <= nicedBefore; wait++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  t.ok(nicedNow() > nicedBefore, 'one more thread at nice + 5 while the dump runs');
  t.notOk(
    threadNices().some((n) => n > niced),
    'none further down (a receiver started by a lowered pool thread)',
  );
  t.equal(niceOf(readFileSync('/proc/self/stat', 'utf8')), own, 'the main thread keeps its own');
  await iterator.return(undefined);
});

t.test('a dump of a datagram or two runs without a receiver thread', { skip }, async (t) => {
  // The worker that starts a dump receives its first two datagrams itself
  // (the kernel sends the end in one of its own): when they hold the dump's
  // end (listeners, small tables), no thread starts.
  const { ns, holder } = testNamespace(t);
  const listener = await holder.send({ op: 'listen', backlog: 1024 });
  await holder.send({ op: 'connect', host: '127.0.0.1', port: listener.port, count: 600 });
  const drain = async (dump: Dump) => {
    let rows = 0;
    for await (const batch of dump) {
      rows += batch.count;
      dump.recycle(batch);
    }
    return { ...dump.stats(), rows };
  };
  const small = await drain(
    new Dump({ netns: ns.path, states: ['listen'], extensions: { info: true, skmeminfo: true } }),
  );
  t.equal(small.rows, parseSs(ns.run('ss', ['-tlnH'])).length, 'every listener, as ss -tln');
  t.equal(small.datagrams, 2, 'the rows, then the end');
  t.equal(small.receiverThread, false, 'no receiver thread');
  const big = await drain(
    new Dump({ netns: ns.path, extensions: { info: true, skmeminfo: true } }),
  );
  t.equal(big.rows, parseSs(ns.run('ss', ['-tanH'])).length, 'every socket, as ss -tan');
  t.ok(big.datagrams > 1, `${big.datagrams} datagrams`);
  t.equal(big.receiverThread, true, 'a receiver thread for the rest');
});

t.test('past its first datagrams a dump needs no pool thread', { skip }, async (t) => {
  // The first fill (a libuv pool worker) receives and parses the first two
  // datagrams and hands its batch to the receiver thread; the batches
  // asked for after it go to that thread from the event loop. So the rest
  // of the dump arrives while every pool thread is busy elsewhere.
  const { ns, holder } = testNamespace(t);
  const listener = await holder.send({ op: 'listen', backlog: 2048 });
  await holder.send({ op: 'connect', host: '127.0.0.1', port: listener.port, count: 900 });
  const expected = parseSs(ns.run('ss', ['-tanH'])).length;
  const dump = new Dump({ netns: ns.path, extensions: { info: true }, batchSize: 300 });
  const iterator = dump[Symbol.asyncIterator]();
  const first = await iterator.next();
  t.equal(first.value?.count, 300, 'the first batch, from a pool worker');
  // Every pool thread busy for a while (libuv's pool: 4 unless the
  // environment sets UV_THREADPOOL_SIZE).
  const poolThreads = Number(process.env.UV_THREADPOOL_SIZE ?? 4);
  let poolBusy = poolThreads;
  const { pbkdf2 } = await import('node:crypto');
  for (let i = 0; i < poolThreads; i++) {
    pbkdf2('x', 'salt', 2_000_000, 32, 'sha256', () => poolBusy--);
  }
  let rows = first.value?.count ?? 0;
  for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
    rows += next.value.count;
  }
  t.equal(poolBusy, poolThreads, 'the dump ended while every pool thread was still busy');
  t.equal(rows, expected, 'every socket, as ss -tan');
  t.equal(dump.stats().receiverThread, true, 'a receiver thread');
  // Let the pool jobs finish before the namespace goes.
  while (poolBusy > 0) await new Promise((resolve) => setTimeout(resolve, 20));
});

t.test('UDP-Lite and MPTCP sockets', { skip }, async (t) => {
  const { ns, holder } = testNamespace(t);
  const lite = await holder.send({ op: 'udp', lite: true, port: 0 });
  const mptcp = await holder.send({ op: 'listen', mptcp: true, port: 0 });
  const liteRows = await dumpRows({ netns: ns.path, protocols: ['udplite'], families: ['inet'] });
  t.same(
    liteRows.map((r) => [r.protocol, r.state, r.localPort]),
    [[136, 'close', lite.port]],
    'the UDP-Lite socket, unconnected',
  );
  const mptcpRows = await dumpRows({ netns: ns.path, protocols: ['mptcp'], families: ['inet'] });
  t.same(
    mptcpRows.map((r) => [r.protocol, r.state, r.localPort]),
    [[262, 'listen', mptcp.port]],
    'the MPTCP listener, asked with INET_DIAG_REQ_PROTOCOL',
  );
  const tcpRows = await dumpRows({ netns: ns.path, protocols: ['tcp'], families: ['inet'] });
  t.ok(
    tcpRows.some((r) => r.state === 'listen' && r.localPort === mptcp.port),
    'its TCP subflow listener is in the TCP dump',
  );
});

t.test('errors are Node-shaped', { skip }, async (t) => {
  await t.rejects(
    (async () => {
      for await (const _ of new Dump({ protocol: 'raw' })) {
        // no rows expected
      }
    })(),
    { code: 'ENOENT', errno: -2, kind: 'kernel' },
    'a protocol the kernel lacks fails with ENOENT from NLMSG_DONE',
  );
  await t.rejects(
    (async () => {
      for await (const _ of new Dump({ netns: '/var/run/netns/does-not-exist' })) {
        // none
      }
    })(),
    { code: 'ENOENT', syscall: 'open', kind: 'system' },
    'a missing namespace names open() and the path',
  );
  t.throws(() => new Dump({ batchSize: 0 }), RangeError);
  t.throws(() => new Dump({ states: ['listening' as never] }), TypeError);
  t.throws(() => new Dump({ extensions: { tcpinfo: true } as never }), /Unknown extension/);
  const dump = new Dump();
  dump.close();
  await t.rejects(
    (async () => {
      for await (const _ of dump) {
        // closed before the first batch
      }
    })(),
    { code: 'ERR_SOCKDIAG_CLOSED' },
  );
});

interface Table {
  backlogPort: number;
  keepalivePort: number;
}

async function buildTable(holder: SocketHolder): Promise<Table> {
  // A listener with backlog 5 and three connections nobody accepts.
  const backlog = await holder.send({ op: 'listen', port: 0, backlog: 5 });
  await holder.send({ op: 'connect', host: '127.0.0.1', port: backlog.port, count: 3 });
  // Two accepted pairs, one of them with SO_KEEPALIVE on the client.
  const service = await holder.send({ op: 'listen', port: 0, backlog: 64 });
  await holder.send({ op: 'connect', host: '127.0.0.1', port: service.port, count: 1 });
  const keepalive = await holder.send({
    op: 'connect',
    host: '127.0.0.1',
    port: service.port,
    count: 1,
    keepalive: true,
  });
  await holder.send({ op: 'accept', id: service.id, count: 2 });
  await holder.send({ op: 'timewait', count: 3 });
  // IPv6 (v6only) and a dual-stack listener reached over IPv4.
  const v6 = await holder.send({ op: 'listen', family: 'inet6', host: '::1', port: 0 });
  await holder.send({ op: 'connect', family: 'inet6', host: '::1', port: v6.port });
  await holder.send({ op: 'accept', id: v6.id });
  const dual = await holder.send({
    op: 'listen',
    family: 'inet6',
    host: '::',
    port: 0,
    v6only: false,
  });
  await holder.send({ op: 'connect', host: '127.0.0.1', port: dual.port });
  await holder.send({ op: 'accept', id: dual.id });
  // UDP: bound, bound v6, and connected.
  const udp = await holder.send({ op: 'udp', port: 0 });
  await holder.send({ op: 'udp', family: 'inet6', host: '::1', port: 0 });
  await holder.send({ op: 'udp', port: 0, connect: { host: '127.0.0.1', port: udp.port } });
  return { backlogPort: backlog.port, keepalivePort: keepalive.ports[0] };
}

function compareWithSs(t: Test, ours: DumpRow[], theirs: SsRow[]): void {
  const key = (
    r: { state: string; recvQ: number; sendQ: number } & Parameters<typeof endpointKey>[0],
  ) => `${r.state} ${r.recvQ} ${r.sendQ} ${endpointKey(r)}`;
  t.same(ours.map(key).sort(), theirs.map(key).sort(), 'same sockets, states and queues');
  t.ok(ours.length > 0, 'the table is not empty');
}
