// The namespaces benchmark's report (lib/netns.js): medians per method, and
// the two goals of the netns collector with their verdicts.
'use strict';

const { median, PRIVATE_BUCKETS } = require('./netns');

const GOALS = { cheapAdded: 0.3, fullOverFloor: 1.2 };

const ms = (seconds) => (seconds === null ? 'n/a' : (seconds * 1000).toFixed(1));
const ratio = (value) => (value === null || !Number.isFinite(value) ? 'n/a' : value.toFixed(2));

/** Before the rounds, each exporter's listener owners were found (steady state measured). */
function warmUpLine(warm) {
  if (!warm) return [];
  const parts = Object.entries(warm).map(
    ([name, w]) =>
      `${name} ${w.listeners - w.unknown} of ${w.listeners} known after ${w.scrapes} scrapes a second apart (${w.seconds.toFixed(0)} s)`,
  );
  return [
    `Before the rounds, the listener owners (the budgeted /proc/PID/fd scan): ${parts.join('; ')}.`,
    '',
  ];
}

function summary(samples) {
  const pick = (key) => median(samples.map((s) => s[key]));
  const netns = median(samples.map((s) => s.collectors?.netns));
  return {
    seconds: pick('seconds'),
    cpuSeconds: pick('cpuSeconds'),
    netnsSeconds: netns,
    scraped: samples.at(-1)?.scraped ?? null,
    fullTier: samples.at(-1)?.fullTier ?? null,
    rows: samples.at(-1)?.rows ?? null,
    failed: samples.flatMap((s) => s.failed ?? []),
    rssMiB: median(samples.map((s) => s.memory?.rssMiB)),
  };
}

function netnsReport(result, header) {
  const s = Object.fromEntries(Object.entries(result.shared).map(([k, v]) => [k, summary(v)]));
  const p = Object.fromEntries(Object.entries(result.private).map(([k, v]) => [k, summary(v)]));
  const host = summary(result.host['host-only']);
  const cheapAdded = (key) => (s.cheap[key] - s.own[key]) / host[key];
  // The whole table's share: the full tier beyond what every namespace costs
  // anyway (the cheap tier's listeners, counters, sysctls, checks).
  const tableOverFloor = (key) =>
    (p.full[key] - p.own[key] - (s.cheap[key] - s.own[key])) / p.floor[key];
  const fullOverFloor = (key) => (p.full[key] - p.own[key]) / p.floor[key];
  const verdict = (value, goal) => (value !== null && value <= goal ? 'pass' : 'miss');
  const lines = [
    `## Namespaces: ${result.namespaces} x ${2 * result.pairsPerNamespace} sockets (${header.date})`,
    '',
    `Machine: ${header.machine}. Code measured: ${header.code}. ${header.rounds} interleaved rounds, medians; wall time of the HTTP request, CPU of the exporter (all threads) or of nldump.`,
    '',
    ...warmUpLine(result.ownersWarmUp),
    '| goal | target | wall | CPU | verdict |',
    '|---|---|---:|---:|---|',
    `| cheap tier for all ${result.namespaces} namespaces (scrape with netns - without) / host-only scrape of the same ${result.total} | <= ${GOALS.cheapAdded} | ${ratio(cheapAdded('seconds'))} | ${ratio(cheapAdded('cpuSeconds'))} | ${verdict(cheapAdded('seconds'), GOALS.cheapAdded)} |`,
    `| full tier's table on private hashes (full tier - cheap tier) / sum of per-namespace C floor dumps | <= ${GOALS.fullOverFloor}x | ${ratio(tableOverFloor('seconds'))}x | ${ratio(tableOverFloor('cpuSeconds'))}x | ${verdict(tableOverFloor('seconds'), GOALS.fullOverFloor)} |`,
    `| the whole full tier on private hashes (scrape with netns - without) / the same floor | <= ${GOALS.fullOverFloor}x | ${ratio(fullOverFloor('seconds'))}x | ${ratio(fullOverFloor('cpuSeconds'))}x | ${verdict(fullOverFloor('seconds'), GOALS.fullOverFloor)} |`,
    '',
    '| method | what | wall ms | CPU ms | netns collector ms | namespaces (full tier) |',
    '|---|---|---:|---:|---:|---|',
    `| host-only | all ${result.total} sockets in the exporter's namespace, full scrape | ${ms(host.seconds)} | ${ms(host.cpuSeconds)} | | |`,
    `| own (shared) | the exporter's own empty namespace, netns left out | ${ms(s.own.seconds)} | ${ms(s.own.cpuSeconds)} | | |`,
    `| cheap (shared) | whole scrape, every namespace on the cheap tier | ${ms(s.cheap.seconds)} | ${ms(s.cheap.cpuSeconds)} | ${ms(s.cheap.netnsSeconds)} | ${s.cheap.scraped} (${s.cheap.fullTier}) |`,
    `| forced (shared) | whole scrape, every namespace forced to the full tier | ${ms(s.forced.seconds)} | ${ms(s.forced.cpuSeconds)} | ${ms(s.forced.netnsSeconds)} | ${s.forced.scraped} (${s.forced.fullTier}) |`,
    `| floor (shared) | nldump -e 0x42 in each namespace, summed | ${ms(s['floor-shared'].seconds)} | ${ms(s['floor-shared'].cpuSeconds)} | | ${s['floor-shared'].rows} rows |`,
    `| own (private) | the exporter's own empty namespace, netns left out | ${ms(p.own.seconds)} | ${ms(p.own.cpuSeconds)} | | |`,
    `| full (private, ${PRIVATE_BUCKETS} buckets) | whole scrape, every namespace on the full tier | ${ms(p.full.seconds)} | ${ms(p.full.cpuSeconds)} | ${ms(p.full.netnsSeconds)} | ${p.full.scraped} (${p.full.fullTier}) |`,
    `| floor (private) | nldump -e 0x42 in each namespace, summed | ${ms(p.floor.seconds)} | ${ms(p.floor.cpuSeconds)} | | ${p.floor.rows} rows |`,
    '',
  ];
  const failed = [
    ...new Set([...Object.values(s), ...Object.values(p), host].flatMap((x) => x.failed)),
  ];
  if (failed.length > 0)
    lines.push(`Collectors that failed during the run: ${failed.join(', ')}.`, '');
  lines.push(
    `Exporter RSS at the end of the rounds: cheap ${s.cheap.rssMiB?.toFixed(0)} MiB, full on private hashes ${p.full.rssMiB?.toFixed(0)} MiB, host-only ${host.rssMiB?.toFixed(0)} MiB.`,
    '',
  );
  return lines.join('\n');
}

module.exports = { netnsReport };
