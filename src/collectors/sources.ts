// What one scrape reads, each at most once: whichever collector asks first
// starts the read, the others await the same promise. No ordering between
// collectors is needed, and nothing is read twice in one scrape.
import type { Owners } from '../owners';
import { readSnmpFiles, type SnmpCounter } from '../procfs/netstat';
import type { ProcfsProblem } from '../procfs/read';
import { readSockstatFiles, type SockstatFiles } from '../procfs/sockstat';
import { readSysctlValues, type SysctlValues } from '../procfs/sysctl';
import { attachHalfOpen, dumpListeners, type Listener } from '../scan/listeners';
import { scanTable } from '../scan/scan';
import type { ScanOptions, TableScan } from '../scan/table-scan';

export interface NetstatSnapshot {
  netstat: SnmpCounter[] | null;
  snmp: SnmpCounter[] | null;
  snmp6: SnmpCounter[] | null;
  /** What was wrong with the files that exist; their bad values are not in `values`. */
  problems: ProcfsProblem[];
  /** "TcpExt.ListenOverflows" -> value, first occurrence wins. */
  values: Map<string, number>;
}

/** Fixed for the exporter's life: derived once from the flags. */
export interface SourceConfig {
  /** Mount point of procfs, `--path.procfs` (default /proc). */
  procfs: string;
  scan: Omit<ScanOptions, 'procfs'>;
  /** Owner lookups (cgroups, processes), long-lived; absent: no owner labels. */
  owners?: Owners;
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
  constructor(
    readonly config: SourceConfig,
    private readonly withHalfOpen: boolean,
  ) {}

  get procfs(): string {
    return this.config.procfs;
  }

  get owners(): Owners | null {
    return this.config.owners ?? null;
  }

  /** The whole socket table, one pass. */
  get tableScan(): Promise<TableScan> {
    this.table ??= scanTable({ ...this.config.scan, procfs: this.config.procfs });
    return this.table;
  }

  get listeners(): Promise<Listener[]> {
    this.listenerList ??= (async () => {
      const listeners = await dumpListeners(this.config.scan.netns);
      if (this.withHalfOpen) attachHalfOpen(listeners, await this.tableScan);
      if (this.config.owners) await attachOwners(listeners, this.config.owners);
      return listeners;
    })();
    return this.listenerList;
  }

  /** /proc/net/{netstat,snmp,snmp6}. */
  get netstat(): Promise<NetstatSnapshot> {
    this.counters ??= readSnmpFiles(this.config.procfs).then((files) => {
      const values = new Map<string, number>();
      for (const counters of [files.netstat, files.snmp, files.snmp6]) {
        for (const counter of counters ?? []) {
          const key = `${counter.prefix}.${counter.field}`;
          if (!values.has(key)) values.set(key, counter.value);
        }
      }
      return { ...files, values };
    });
    return this.counters;
  }

  /** "net.ipv4.tcp_max_tw_buckets" (vectors: ".min"/".max"...) -> value; bad files in `problems`. */
  get sysctls(): Promise<SysctlValues> {
    this.settings ??= readSysctlValues(this.config.procfs);
    return this.settings;
  }

  /** /proc/net/sockstat{,6}. */
  get sockstat(): Promise<SockstatFiles> {
    this.socketCounts ??= readSockstatFiles(this.config.procfs);
    return this.socketCounts;
  }
}

/** Each listener's cgroup (and what it says) and, within the scan budget, its process. */
async function attachOwners(listeners: Listener[], owners: Owners): Promise<void> {
  const [cgroups, processes] = await Promise.all([
    owners.cgroups(listeners.map((l) => l.cgroupId)),
    owners.processes(listeners.map((l) => l.inode)),
  ]);
  for (const l of listeners) {
    l.owner = { cgroup: cgroups.get(l.cgroupId) ?? null, process: processes.get(l.inode) ?? null };
  }
  owners.forgetExcept(new Set(listeners.map((l) => l.inode)));
}
