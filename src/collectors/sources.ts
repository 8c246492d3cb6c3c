// What one scrape reads, each at most once: whichever collector asks first
// starts the read, the others await the same promise. No ordering between
// collectors is needed, and nothing is read twice in one scrape.
import type { ClosedTracker } from '../closed/tracker';
import type { Owners } from '../owners';
import { readSnmpFiles, type SnmpCounter, type SnmpFiles } from '../procfs/netstat';
import type { ProcfsProblem } from '../procfs/read';
import { readSockstatFiles, type SockstatFiles } from '../procfs/sockstat';
import {
  type PortRange,
  readPortRange,
  readSysctlValues,
  type SysctlValues,
} from '../procfs/sysctl';
import { attachHalfOpen, dumpListeners, type Listener } from '../scan/listeners';
import { scanTable } from '../scan/scan';
import type { ScanOptions, TableScan } from '../scan/table-scan';

/** Why a cheap-tier namespace has no table facts. */
export const NO_TABLE =
  'this namespace gets the cheap tier (LISTEN-only dump, counters, sysctls): its whole table is not read (see --collector.netns.full)';

export interface NetstatSnapshot {
  netstat: SnmpCounter[] | null;
  snmp: SnmpCounter[] | null;
  snmp6: SnmpCounter[] | null;
  /** What was wrong with the files that exist; their bad values are not in `values`. */
  problems: ProcfsProblem[];
  /** "TcpExt.ListenOverflows" -> value, first occurrence wins. */
  values: Map<string, number>;
}

/** Where a namespace's counters and settings are read from. */
export interface SourceReader {
  snmpFiles(): Promise<SnmpFiles>;
  sockstatFiles(): Promise<SockstatFiles>;
  sysctls(): Promise<SysctlValues>;
  portRange(): Promise<PortRange>;
}

/** The exporter's own namespace: files under procfs. */
export function procfsReader(procfs: string): SourceReader {
  return {
    snmpFiles: () => readSnmpFiles(procfs),
    sockstatFiles: () => readSockstatFiles(procfs),
    sysctls: () => readSysctlValues(procfs),
    portRange: () => readPortRange(procfs),
  };
}

/** Fixed for the exporter's life: derived once from the flags. */
export interface SourceConfig {
  /** Mount point of procfs, `--path.procfs` (default /proc). */
  procfs: string;
  scan: Omit<ScanOptions, 'procfs'>;
  /** Owner lookups (cgroups, processes), long-lived; absent: no owner labels. */
  owners?: Owners;
  /** Closed connections, long-lived (the closed collector); absent: not subscribed. */
  closed?: ClosedTracker;
  /** Counters and settings of another namespace; default: procfsReader(procfs). */
  reader?: SourceReader;
  /** false: this configuration never reads the whole table (a namespace's cheap tier). */
  table?: boolean;
  /**
   * Only these counters ("TcpExt.ListenOverflows") are kept and served (a
   * namespace's, unless --collector.netns.all-counters); default: all.
   */
  counters?: ReadonlySet<string>;
}

export class ScrapeSources {
  private table?: Promise<TableScan>;
  private listenerList?: Promise<Listener[]>;
  private counters?: Promise<NetstatSnapshot>;
  private settings?: Promise<SysctlValues>;
  private socketCounts?: Promise<SockstatFiles>;

  /**
   * `withHalfOpen`: this scrape reads the table anyway, so listeners get
   * their half-open counts (SYN_RECV sockets live in the table, not in the
   * LISTEN-only dump).
   */
  private readonly reader: SourceReader;

  constructor(
    readonly config: SourceConfig,
    private readonly withHalfOpen: boolean,
  ) {
    this.reader = config.reader ?? procfsReader(config.procfs);
  }

  get procfs(): string {
    return this.config.procfs;
  }

  get owners(): Owners | null {
    return this.config.owners ?? null;
  }

  /** The namespace's closed connections, added up since the subscription. */
  get closed(): ClosedTracker | null {
    return this.config.closed ?? null;
  }

  /** The whole socket table, one pass. */
  get tableScan(): Promise<TableScan> {
    this.table ??=
      this.config.table === false
        ? Promise.reject(new Error(NO_TABLE))
        : scanTable({
            ...this.config.scan,
            procfs: this.config.procfs,
            portRange: () => this.reader.portRange(),
          });
    return this.table;
  }

  get listeners(): Promise<Listener[]> {
    this.listenerList ??= (async () => {
      const { netns, namespace } = this.config.scan;
      const listeners = await dumpListeners({
        ...(netns ? { netns } : {}),
        ...(namespace ? { namespace } : {}),
      });
      if (this.withHalfOpen && this.config.table !== false) {
        attachHalfOpen(listeners, await this.tableScan);
      }
      if (this.config.owners) {
        await attachOwners(listeners, this.config.owners, this.config.scan.namespace?.inode ?? 0);
      }
      return listeners;
    })();
    return this.listenerList;
  }

  /** /proc/net/{netstat,snmp,snmp6}. */
  get netstat(): Promise<NetstatSnapshot> {
    const only = this.config.counters;
    this.counters ??= this.reader.snmpFiles().then((files) => {
      const values = new Map<string, number>();
      for (const counters of [files.netstat, files.snmp, files.snmp6]) {
        for (const counter of counters ?? []) {
          const key = `${counter.prefix}.${counter.field}`;
          if (only && !only.has(key)) continue;
          if (!values.has(key)) values.set(key, counter.value);
        }
      }
      return { ...files, values };
    });
    return this.counters;
  }

  /** "net.ipv4.tcp_max_tw_buckets" (vectors: ".min"/".max"...) -> value; bad files in `problems`. */
  get sysctls(): Promise<SysctlValues> {
    this.settings ??= this.reader.sysctls();
    return this.settings;
  }

  /** /proc/net/sockstat{,6}. */
  get sockstat(): Promise<SockstatFiles> {
    this.socketCounts ??= this.reader.sockstatFiles();
    return this.socketCounts;
  }
}

/** Each listener's cgroup (and what it says) and, within the scan budget, its process. */
async function attachOwners(listeners: Listener[], owners: Owners, scope: number): Promise<void> {
  const cgroups = await owners.cgroups(listeners.map((l) => l.cgroupId));
  const processes = await owners.processes(
    listeners.map((l) => l.inode),
    cgroups.values(),
  );
  for (const l of listeners) {
    l.owner = { cgroup: cgroups.get(l.cgroupId) ?? null, process: processes.get(l.inode) ?? null };
  }
  owners.forgetExcept(new Set(listeners.map((l) => l.inode)), scope);
}
