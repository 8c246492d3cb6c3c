// Exercises every path of the addon a long-running exporter takes (full
// dumps, early break, close while a batch is pending, kernel errors, parse
// of malformed bytes) and then forces GC so finalizers run. Run under
// valgrind by test/native-checks.test.ts, with SOCKDIAG_ADDON pointing at
// the Debug build (asserts on).
const {
  Dump,
  dumpSockets,
  addon,
  openNamespace,
  readNamespaceFiles,
  readNamespacesFiles,
  DestroySubscriber,
} = require('../../dist/src/diag');
const net = require('node:net');
const { openConnections } = require('./loopback-table');

// One loopback connection, opened and closed: two destroy events (and the
// listener's).
async function closeOneConnection() {
  const server = net.createServer((socket) => socket.end());
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const client = net.connect(server.address().port, '127.0.0.1');
  await new Promise((resolve) => client.on('close', resolve).resume());
  await new Promise((resolve) => server.close(resolve));
}

// Destroy subscribers in our own namespace: events received and closed,
// closed while next() waits, a failed open, and one left open for the
// environment teardown hook to stop (the process must still exit).
let leftOpen;
async function exerciseSubscriber() {
  const subscriber = await DestroySubscriber.open({ flushMs: 5, batchSize: 2 });
  await closeOneConnection();
  const batch = await subscriber.next();
  if (!batch || batch.count < 1) throw new Error('no destroy event');
  subscriber.stats();
  const waiting = subscriber.next();
  subscriber.close();
  if ((await waiting) !== null) throw new Error('next() after close() should be null');
  await DestroySubscriber.open({ netns: '/nonexistent' }).catch(() => {});
  if (!leftOpen) leftOpen = await DestroySubscriber.open({ protocols: ['tcp', 'udp'] });
}

// Namespace handles on our own namespace (setns into it needs root, as the
// suite runs): dumps in turn, one left early (drained by the next), file
// reads by path and through the handle, one handle left to the GC.
async function exerciseNamespaces() {
  const own = '/proc/self/ns/net';
  const handle = await openNamespace(own);
  for await (const _ of new Dump({ namespace: handle, batchSize: 1 })) break;
  await Promise.all([
    (async () => {
      for await (const _ of new Dump({ namespace: handle })) {
        // whole
      }
    })(),
    (async () => {
      for await (const _ of new Dump({ namespace: handle, states: ['listen'] })) {
        // whole
      }
    })(),
  ]);
  await readNamespaceFiles(own, ['/proc/sys/net/core/somaxconn', '/nonexistent']);
  await readNamespaceFiles(handle, ['/proc/sys/net/core/somaxconn']);
  await readNamespacesFiles([
    { netns: handle, files: ['/proc/sys/net/core/somaxconn', '/nonexistent'] },
    { netns: '/nonexistent', files: ['/proc/sys/net/core/somaxconn'] },
    { netns: own, files: ['/proc/thread-self/net/snmp'] },
  ]);
  handle.close();
  await openNamespace(own); // never closed: the collector closes it
  for (const bad of ['/etc/hostname', '/nonexistent']) {
    await openNamespace(bad).catch(() => {});
  }
}

// Enough loopback connections that a dump runs past its first two
// datagrams: a receiver thread, and batches handed to it from the event
// loop. Dumps drained, left early and closed with batches pending. (A
// worker thread stopped mid-dump: test/live/dump-teardown-live.test.ts.)
async function exerciseReceiverThread() {
  const table = await openConnections(300);
  const options = { protocol: 'tcp', extensions: { info: true, skmeminfo: true } };
  for (let round = 0; round < 3; round++) {
    const whole = new Dump({ ...options, batchSize: 200 });
    let rows = 0;
    for await (const batch of whole) {
      rows += batch.count;
      whole.recycle(batch);
    }
    if (!whole.stats().receiverThread || rows < 600) throw new Error(`no receiver thread: ${rows}`);
    let taken = 0;
    for await (const _ of new Dump({ ...options, batchSize: 150 })) if (++taken === 3) break;
    const pending = new Dump({ ...options, batchSize: 150 });
    const iterator = pending[Symbol.asyncIterator]();
    await iterator.next();
    await iterator.next();
    pending.close();
    await iterator.return?.();
  }
  await table.close();
}

async function main() {
  await exerciseReceiverThread();
  for (let round = 0; round < 10; round++) {
    for await (const batch of dumpSockets({
      extensions: { info: true, skmeminfo: true, meminfo: true },
      batchSize: 3,
    })) {
      if (batch.count > 3) throw new Error('batch larger than asked');
    }
    for await (const _ of new Dump({ states: ['listen'], batchSize: 1 })) break;
    const recycled = new Dump({ extensions: { info: true, skmeminfo: true }, batchSize: 2 });
    for await (const batch of recycled) recycled.recycle(batch);
    const pending = new Dump({ batchSize: 1 });
    const iterator = pending[Symbol.asyncIterator]();
    await iterator.next();
    pending.close();
    await iterator.return?.();
    try {
      for await (const _ of new Dump({ protocol: 'raw' })) {
        // the kernel has no RAW handler here: ENOENT
      }
    } catch (error) {
      if (error.code !== 'ENOENT') throw error;
    }
    const params = {
      family: 2,
      protocol: 6,
      states: 0xfff,
      extensions: 0,
      legacy: false,
      timeoutMs: 1000,
      batchRows: 4,
      groups: 7,
      seq: 1,
    };
    addon.parse(new Uint8Array([1, 2, 3]), params);
    addon.parse(new Uint8Array(200).fill(0xff), params);
    addon.parse(new Uint8Array(200).fill(0xff), { ...params, protocolFromAttribute: true });
    if (process.getuid() === 0) await exerciseNamespaces();
    await exerciseSubscriber();
  }
  global.gc();
  await new Promise((resolve) => setTimeout(resolve, 50));
  global.gc();
  process.stdout.write('exercised\n');
}

main().catch((error) => {
  process.stderr.write(`${error.stack}\n`);
  process.exit(3);
});
