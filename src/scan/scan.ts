// Runs one scan of the socket table: the dumps, merged into one TableScan.
import { availableParallelism } from 'node:os';
import { DEFAULT_STATE_MASK, Dump, type DumpOptions, FAMILY_NAMES, TcpState } from '../diag';
import { readPortRange } from '../procfs/sysctl';
import { SCAN_COLUMNS } from './columns';
import { higherPortSplit, mergeStreams } from './split';
import { type ScanOptions, TableScan } from './table-scan';
import { tcpDump } from './tcp-dump';
import { WalkChooser } from './walk-choice';

const LISTEN_ONLY = 1 << TcpState.Listen;
const ALL_BUT_LISTEN = DEFAULT_STATE_MASK & ~LISTEN_ONLY;

/** Aggregates TCP batches from streams that run at once; `parts` counts rows per stream. */
async function addTcpStreams(
  scan: TableScan,
  streams: ReturnType<typeof tcpDump>[],
  parts: boolean,
): Promise<void> {
  const first = scan.partRows.length;
  if (parts) scan.partRows.push(...streams.map(() => 0));
  const tagged = streams.map(async function* (stream, index) {
    for await (const [batch, dump] of stream) yield [batch, dump, index] as const;
  });
  for await (const [batch, dump, index] of mergeStreams(tagged)) {
    if (parts) scan.partRows[first + index]! += batch.count;
    scan.add(batch, 'tcp');
    dump.recycle(batch);
  }
}

/**
 * Runs the dumps: TCP (both families, one walk when possible) with tcp_info
 * and skmeminfo, then UDP. With `parallelism` > 1 the TCP walk is split:
 * a LISTEN-only dump first (microseconds; it tells every part which ports
 * are services), then that many dumps of the rest at once, each keeping its
 * slice of the sockets by a kernel port filter (split.ts).
 */
export async function scanTable(options: ScanOptions): Promise<TableScan> {
  const ports = options.portRange ? await options.portRange() : await readPortRange(options.procfs);
  const scan = new TableScan(ports.range, options, ports.known);
  // 2048 rows keep each batch's aggregation near 1 ms on the event loop
  // (16384 gave /healthz a 17 ms p99 during 1M-socket scrapes); with two
  // fills queued, smaller batches no longer leave the kernel walk waiting.
  // Only the columns the scan reads are written (columns.ts).
  const base: DumpOptions = { batchSize: options.batchSize ?? 2048, columns: SCAN_COLUMNS };
  if (options.netns) base.netns = options.netns;
  if (options.namespace) base.namespace = options.namespace;
  const tcp: DumpOptions = { ...base, extensions: { info: options.tcpInfo, skmeminfo: true } };
  const asked = options.parallelism ?? 1;
  const parallelism = asked > 0 ? asked : (options.walks?.next() ?? 1);
  const started = performance.now();
  const rowsBefore = scan.rows;
  if (parallelism > 1) {
    await addTcpStreams(scan, [tcpDump({ ...tcp, states: LISTEN_ONLY })], false);
    const parts = higherPortSplit(scan.ephemeralRange, parallelism);
    const streams = parts.map((filter) => tcpDump({ ...tcp, states: ALL_BUT_LISTEN, filter }));
    await addTcpStreams(scan, streams, true);
  } else {
    await addTcpStreams(scan, [tcpDump(tcp)], true);
  }
  if (asked <= 0)
    options.walks?.record(parallelism, scan.rows - rowsBefore, performance.now() - started);
  for (const family of FAMILY_NAMES) {
    const dump = new Dump({ ...base, family, protocol: 'udp' });
    for await (const batch of dump) {
      scan.add(batch, 'udp');
      dump.recycle(batch);
    }
  }
  scan.peers.rememberSizes();
  return scan;
}

/**
 * --collector.sockets.parallel-dumps as ScanOptions: a number of parts, or
 * 0 (auto) with the chooser that decides scan by scan (walk-choice.ts).
 */
export function resolveParallelism(asked: number): Pick<ScanOptions, 'parallelism' | 'walks'> {
  if (asked < 1) return { parallelism: 0, walks: new WalkChooser(availableParallelism()) };
  return { parallelism: asked };
}
