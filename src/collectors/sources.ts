// Data sources memoised per scrape: whichever collector asks first starts
// the read, the others await the same promise. No ordering between
// collectors is needed, and nothing is read twice in one scrape.
import { availableParallelism } from 'node:os';
import type { ScrapeContext } from './collector';
import { readSysctlSamples } from './sysctl';
import { readSnmpFiles, type SnmpCounter } from '../procfs/netstat';
import { attachHalfOpen, dumpListeners, type Listener } from '../scan/listeners';
import { type ScanOptions, scanTable, type TableScan } from '../scan/table-scan';

export function memo<T>(context: ScrapeContext, key: string, make: () => Promise<T>): Promise<T> {
  let value = context.shared.get(key) as Promise<T> | undefined;
  if (!value) {
    value = make();
    context.shared.set(key, value);
  }
  return value;
}

export interface NetstatSnapshot {
  netstat: SnmpCounter[] | null;
  snmp: SnmpCounter[] | null;
  snmp6: SnmpCounter[] | null;
  /** "TcpExt.ListenOverflows" -> value, first occurrence wins. */
  values: Map<string, number>;
}

export function getNetstat(context: ScrapeContext): Promise<NetstatSnapshot> {
  return memo(context, 'source.netstat', async () => {
    const files = await readSnmpFiles(context.procfs);
    const values = new Map<string, number>();
    for (const counters of [files.netstat, files.snmp, files.snmp6]) {
      for (const counter of counters ?? []) {
        const key = `${counter.prefix}.${counter.field}`;
        if (!values.has(key)) values.set(key, counter.value);
      }
    }
    return { ...files, values };
  });
}

/** "net.ipv4.tcp_max_tw_buckets" (vectors: ".min"/".max"...) -> value. */
export function getSysctls(context: ScrapeContext): Promise<Map<string, number>> {
  return memo(context, 'source.sysctl', async () => {
    const samples = await readSysctlSamples(context.procfs);
    return new Map(samples.map((sample) => [String(sample.labels?.name), sample.value]));
  });
}

/** 0 (auto): one TCP dump per CPU, at most 2; otherwise as asked, at most 8. */
export function dumpParallelism(asked: number): number {
  if (!Number.isFinite(asked) || asked < 1) return Math.min(2, availableParallelism());
  return Math.min(Math.floor(asked), 8);
}

/** Options of the table scan, derived from what is enabled this scrape. */
export function scanOptions(context: ScrapeContext): ScanOptions {
  const settings = context.settings;
  return {
    procfs: context.procfs,
    trackPeers: context.configured.has('peers'),
    peersLimit: Math.min(Number(settings['peers.limit'] ?? 10), 100),
    tcpInfo: settings['sockets.tcp-info'] !== false,
    ghostIdleSeconds: Number(settings['incidents.keepalive-idle'] ?? 3600),
    parallelism: dumpParallelism(Number(settings['sockets.parallel-dumps'] ?? 0)),
  };
}

/** The whole socket table, one pass per scrape. */
export function getTableScan(context: ScrapeContext): Promise<TableScan> {
  return memo(context, 'source.table', () => scanTable(scanOptions(context)));
}

/**
 * Listeners; with the sockets collector on, each with its half-open count
 * (which needs the full table: SYN_RECV sockets live there).
 */
export function getListeners(context: ScrapeContext): Promise<Listener[]> {
  return memo(context, 'source.listeners', async () => {
    const listeners = await dumpListeners();
    if (context.enabled.has('sockets') || context.enabled.has('incidents')) {
      attachHalfOpen(listeners, await getTableScan(context));
    }
    return listeners;
  });
}
