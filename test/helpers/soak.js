// Many scrapes in one process: memory after a forced GC must not grow
// between the early and the late ones. Run by test/soak.test.ts inside a
// namespace with a small socket table; prints one JSON line.
const pino = require('pino');
const { COLLECTORS } = require('../../dist/src/collectors');
const { createExporter } = require('../../dist/src/cli/exporter');
const { parseFlags } = require('../../dist/src/cli/flags');
const {
  ProcessMetrics,
  render,
  PROMETHEUS_CONTENT_TYPE,
} = require('../../dist/src/http/exposition');

async function main() {
  const rounds = Number(process.argv[2] ?? 400);
  const flags = process.argv.slice(3);
  const enabled = new Set(COLLECTORS.map((c) => c.name)); // peers too
  const exporter = createExporter(
    parseFlags(flags, COLLECTORS),
    pino({ level: 'silent' }),
    enabled,
  );
  const { registry } = exporter;
  const processMetrics = new ProcessMetrics();
  const samples = [];
  for (let i = 1; i <= rounds; i++) {
    const families = await registry.collect(registry.enabled);
    families.push(...(await processMetrics.families()));
    await render(families, PROMETHEUS_CONTENT_TYPE);
    // Every rounds/16 scrapes from rounds/8 on: RSS moves by several MiB
    // from one sample to the next as malloc's per-thread arenas settle, so
    // the test compares medians of groups of samples, not single samples.
    if (i >= Math.round(rounds / 8) && i % Math.round(rounds / 16) === 0) {
      global.gc();
      await new Promise((resolve) => setTimeout(resolve, 20));
      global.gc();
      const memory = process.memoryUsage();
      samples.push({
        round: i,
        heapUsed: memory.heapUsed,
        external: memory.external,
        rss: memory.rss,
      });
    }
  }
  process.stdout.write(`${JSON.stringify(samples)}\n`);
  // Its subscribers (the closed collector's) and timers go: the process
  // must then exit by itself, as the exporter's does on SIGTERM.
  exporter.close();
}

main().catch((error) => {
  process.stderr.write(`${error.stack}\n`);
  process.exit(3);
});
