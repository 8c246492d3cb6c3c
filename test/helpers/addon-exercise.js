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
} = require('../../dist/src/diag');

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
  handle.close();
  await openNamespace(own); // never closed: the collector closes it
  for (const bad of ['/etc/hostname', '/nonexistent']) {
    await openNamespace(bad).catch(() => {});
  }
}

async function main() {
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
