// Worker threads that dump the TCP table in a loop, terminated at random
// moments mid-dump, ROUNDS times (argv[2], 20 by default), with enough
// loopback connections that each dump runs past its first datagrams (a
// receiver thread, batches handed to it from the worker's event loop).
// Prints "survived" when the process is still alive at the end: run by
// test/live/dump-teardown-live.test.ts.
const path = require('node:path');
const { Worker } = require('node:worker_threads');
const { openConnections } = require('./loopback-table');

const DIAG = path.join(__dirname, '..', '..', 'dist', 'src', 'diag');

async function main() {
  const rounds = Number(process.argv[2] ?? 20);
  const table = await openConnections(300);
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    const { Dump } = require(${JSON.stringify(DIAG)});
    (async () => {
      let batches = 0;
      for (;;) {
        const dump = new Dump({ protocol: 'tcp', extensions: { info: true }, batchSize: workerData });
        for await (const _ of dump) if (++batches === 2) parentPort.postMessage('dumping');
      }
    })();`;
  for (let round = 0; round < rounds; round++) {
    const worker = new Worker(code, { eval: true, workerData: round % 2 ? 100 : 1000 });
    await new Promise((resolve, reject) => worker.once('message', resolve).once('error', reject));
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 5));
    await worker.terminate();
  }
  await table.close();
  process.stdout.write('survived\n');
}

main().catch((error) => {
  process.stderr.write(`${error.stack}\n`);
  process.exit(3);
});
