// Every other network namespace, scraped with the same collectors as the
// exporter's own, each series labelled with `netns`. Two tiers, because a
// full dump in a namespace walks the kernel's shared established hash
// whatever the namespace holds:
//   cheap: a LISTEN-only dump (accept queues, limits, drops), the
//          namespace's counters and sysctls, and the incident checks;
//   full:  the whole table too (states, timers, ghosts, TIME_WAIT by port),
//          for namespaces with a private hash (cheap to walk) and those
//          --collector.netns.full names.
// Each namespace keeps its own registry and incident service across
// scrapes; both go when the namespace does.
import type { Logger } from 'pino';
import type { CollectorDefinition, MetricFamily, MetricSample } from '../collectors/collector';
import { withSharedLabels } from '../collectors/families';
import { CollectorRegistry } from '../collectors/registry';
import type { SourceConfig } from '../collectors/sources';
import { INCIDENTS } from '../incidents/definitions';
import { IncidentService } from '../incidents/service';
import type { Thresholds } from '../incidents/thresholds';
import type { Finding, RecentFinding } from '../incidents/types';
import type { Owners } from '../owners';
import { type NamespaceEntry, stillThere } from './discovery';
import { namespaceReader } from './reader';
import { eachLimited, type NamespaceSet, type Refresh, type TrackedNamespace } from './set';

export interface NetnsServiceOptions {
  set: NamespaceSet;
  definitions: readonly CollectorDefinition[];
  /** Every collector's options (the flags), as the exporter's own registry has them. */
  settings: Readonly<Record<string, unknown>>;
  /** The exporter's own source configuration: scan options, owners. */
  sources: SourceConfig;
  thresholds: Thresholds;
  owners?: Owners;
  /** Report every counter field per namespace, not just those the incidents read. */
  allCounters: boolean;
  /** How long a namespace's sysctls are kept before they are read again (0: every scrape). */
  sysctlMaxAgeMs?: number;
  /** The peers collector is on (its addresses may be shown). */
  peers: boolean;
  /** The closed collector is on: namespaces with a subscriber serve it too. */
  closed?: boolean;
  log: Logger;
  concurrency?: number;
}

export interface NamespaceFindings {
  netns: string;
  entry: NamespaceEntry;
  full: boolean;
  findings: Finding[];
  recent: RecentFinding[];
}

const CHEAP = ['listeners', 'netstat', 'sockstat', 'sysctl', 'incidents'];

/**
 * Namespaces collected at once. Each waits mostly for the addon (its
 * LISTEN dump, its share of the turn's file trip, a full tier's dump), so
 * at 4 a scrape of 100 namespaces ran as 25 waves with the event loop idle
 * in between. Measured (100 namespaces x 2000 sockets, the cheap tier's
 * cost added to a scrape, interleaved A/B): wall 70 -> 45 ms from 4 to 16
 * (CPU 89 -> 67 ms); a second run, 16 against 32: 39 and 35 ms. 16 keeps
 * most of it with half the batches and buffers in flight of 32.
 */
const COLLECT_CONCURRENCY = 16;

/** The counters the incident checks read (the default per-namespace netstat). */
const INCIDENT_COUNTERS = new Set([
  ...INCIDENTS.flatMap((d) => d.counters),
  'TcpExt.ListenDrops',
  'TcpExt.TCPReqQFullDoCookies',
  'TcpExt.SyncookiesRecv',
  'TcpExt.SyncookiesFailed',
  'TcpExt.PruneCalled',
  'TcpExt.TCPACKSkippedPAWS',
  'TcpExt.TW',
  'TcpExt.TWRecycled',
  'Tcp.CurrEstab',
]);

/**
 * One namespace's families with its `netns` label on every sample, and
 * incident evidence only for the incidents detected in it. (Its netstat is
 * already narrowed at the source: SourceConfig.counters.)
 */
export function labelNamespace(families: MetricFamily[], netns: string): MetricFamily[] {
  // One object for the namespace's every sample: rendered once, not cloned
  // into each sample's labels (a hundred namespaces' 16,000 samples).
  const shared = { netns };
  // Evidence only for the incidents that fired here: the rest is a
  // hundred pods' worth of zeros (sockdiag_netstat_total and sockdiag_sysctl
  // carry the same numbers), a quarter of a namespace's series.
  const fired = new Set(
    families
      .find((f) => f.name === 'sockdiag_incident_detected')
      ?.values.filter((v) => v.value === 1)
      .map((v) => v.labels?.incident) ?? [],
  );
  return families.map((family) => {
    const values =
      family.name === 'sockdiag_incident_evidence'
        ? family.values.filter((v) => fired.has(v.labels?.incident))
        : family.values;
    return {
      ...family,
      values: values.map((v) =>
        withSharedLabels(v, v.sharedLabels ? { ...v.sharedLabels, netns } : shared),
      ),
    };
  });
}

/** The families about the namespaces themselves: identity, tier, counts. */
export function identityFamilies(refresh: Refresh): MetricFamily[] {
  const info: MetricSample[] = [];
  const tier: MetricSample[] = [];
  for (const t of refresh.tracked) {
    info.push({
      labels: {
        netns: t.label,
        inode: t.entry.inode,
        pod_uid: t.entry.identity.podUid ?? '',
        container_id: t.entry.identity.containerId ?? '',
        cgroup: t.entry.cgroupLabel ?? '',
      },
      value: 1,
    });
    tier.push({ labels: { netns: t.label, tier: t.full ? 'full' : 'cheap' }, value: 1 });
  }
  return [
    {
      name: 'sockdiag_netns_info',
      help: 'Every network namespace this exporter scrapes besides its own, always 1: its inode, and from a process in it, its cgroup and what that says (pod UID, container id). Join pod_uid with kube-state-metrics kube_pod_info{uid} for pod names.',
      type: 'gauge',
      values: info,
    },
    {
      name: 'sockdiag_netns_tier',
      help: 'How each namespace is scraped (1): full (the whole table; its own established hash, or named by --collector.netns.full) or cheap (listeners, counters, sysctls and the incident checks).',
      type: 'gauge',
      values: tier,
    },
    {
      name: 'sockdiag_netns_namespaces',
      help: "Network namespaces found besides the exporter's own (discovered), left out by --collector.netns.include/exclude (filtered) or beyond --collector.netns.limit (over_limit), and scraped.",
      type: 'gauge',
      values: [
        { labels: { state: 'discovered' }, value: refresh.discovered },
        { labels: { state: 'filtered' }, value: refresh.filtered },
        { labels: { state: 'over_limit' }, value: refresh.beyondLimit },
        { labels: { state: 'scraped' }, value: refresh.tracked.length },
      ],
    },
    {
      name: 'sockdiag_netns_unreadable_processes',
      help: 'Processes whose /proc/PID/ns/net could not be read although the exporter has CAP_SYS_PTRACE (a security module; a process with capabilities the exporter lacks): namespaces only they are in are not found. 0 is the normal case.',
      type: 'gauge',
      values: [{ value: refresh.unreadable }],
    },
  ];
}

interface NamespaceState {
  tracked: TrackedNamespace;
  registry: CollectorRegistry;
  incidents: IncidentService;
  names: string[];
}

export class NetnsService {
  private readonly states = new Map<number, NamespaceState>();
  private lastRefresh: Refresh | null = null;
  private lastError: string | undefined;

  constructor(private readonly options: NetnsServiceOptions) {}

  private state(tracked: TrackedNamespace): NamespaceState {
    const existing = this.states.get(tracked.entry.inode);
    if (
      existing &&
      existing.tracked.handle === tracked.handle &&
      existing.tracked.full === tracked.full &&
      existing.tracked.closed === tracked.closed
    ) {
      existing.tracked = tracked;
      return existing;
    }
    const { options } = this;
    const incidents = new IncidentService({
      thresholds: options.thresholds,
      recordEvaluations: true,
      ...(options.owners ? { notes: () => options.owners!.notes() } : {}),
    });
    const names = [
      ...(tracked.full ? ['sockets'] : []),
      ...CHEAP,
      ...(tracked.full && options.peers ? ['peers'] : []),
      ...(options.closed && tracked.closed ? ['closed'] : []),
    ];
    const { netns: _own, ...scan } = options.sources.scan;
    const sources: SourceConfig = {
      procfs: options.sources.procfs,
      scan: { ...scan, namespace: tracked.handle, parallelism: 1 },
      // The incident counters only, unless all were asked for: only their
      // groups are parsed (TcpExt, Tcp), and snmp6 is not even read.
      reader: namespaceReader(tracked.handle, {
        ...(options.allCounters ? {} : { counters: INCIDENT_COUNTERS }),
        sysctlMaxAgeMs: options.sysctlMaxAgeMs ?? 0,
      }),
      table: tracked.full,
      ...(options.allCounters ? {} : { counters: INCIDENT_COUNTERS }),
      ...(options.owners ? { owners: options.owners } : {}),
      ...(tracked.closed ? { closed: tracked.closed } : {}),
    };
    const registry = new CollectorRegistry(options.definitions, {
      enabled: new Set(names),
      settings: options.settings,
      sources,
      log: options.log.child({ netns: tracked.label }),
      services: { incidents },
    });
    const state = { tracked, registry, incidents, names };
    this.states.set(tracked.entry.inode, state);
    return state;
  }

  /** One scrape of every namespace: families with their `netns` label. */
  async collect(): Promise<MetricFamily[]> {
    let refresh: Refresh;
    try {
      refresh = await this.options.set.refresh();
    } catch (error) {
      this.lastError = error instanceof Error ? error.message : String(error);
      throw error;
    }
    this.lastError = undefined;
    this.lastRefresh = refresh;
    const live = new Set(refresh.tracked.map((t) => t.entry.inode));
    for (const inode of this.states.keys()) {
      if (live.has(inode)) continue;
      this.states.delete(inode);
      this.options.owners?.forgetScope(inode);
    }
    const out: MetricFamily[] = [];
    const vanished: number[] = [];
    await eachLimited(
      refresh.tracked,
      this.options.concurrency ?? COLLECT_CONCURRENCY,
      async (tracked) => {
        if (tracked.handle.closed) return; // gone since the refresh
        const state = this.state(tracked);
        const families = await state.registry.collect(state.names);
        // Gone while it was read: what came back is partial, and no error.
        if (!stillThere(tracked.entry)) {
          this.options.set.forget(tracked.entry.inode);
          this.states.delete(tracked.entry.inode);
          this.options.owners?.forgetScope(tracked.entry.inode);
          vanished.push(tracked.entry.inode);
          return;
        }
        out.push(...labelNamespace(families, tracked.label));
      },
    );
    const gone = new Set(vanished);
    out.push(
      ...identityFamilies({
        ...refresh,
        tracked: refresh.tracked.filter((t) => !gone.has(t.entry.inode)),
      }),
    );
    return out;
  }

  /** The newest findings of every namespace, for /doctor. */
  findings(): NamespaceFindings[] {
    return [...this.states.values()].map((state) => ({
      netns: state.tracked.label,
      entry: state.tracked.entry,
      full: state.tracked.full,
      findings: state.incidents.latest ?? [],
      recent: state.incidents.recent(),
    }));
  }

  /** Why the newest collection saw no namespace at all (a missing capability), if it failed. */
  get error(): string | undefined {
    return this.lastError;
  }

  /** Lets every namespace go (shutdown). */
  close(): void {
    this.options.set.close();
    this.states.clear();
  }

  /** Why some namespaces may be missing, for /doctor and the log. */
  notes(): string[] {
    const refresh = this.lastRefresh;
    if (!refresh) return [];
    const notes: string[] = [];
    if (refresh.unreadable > 0) {
      notes.push(
        `${refresh.unreadable} processes' /proc/PID/ns/net could not be read although this process has CAP_SYS_PTRACE (a security module, or processes holding capabilities this one lacks): namespaces only they are in were not found`,
      );
    }
    if (refresh.beyondLimit > 0) {
      notes.push(
        `${refresh.beyondLimit} namespaces are beyond --collector.netns.limit and not scraped`,
      );
    }
    if (this.options.closed && refresh.withoutClosed > 0) {
      notes.push(
        `${refresh.withoutClosed} namespaces have no closed-connection subscriber (beyond --collector.closed.netns-limit, or it failed: see the log): no sockdiag_closed_* series for them`,
      );
    }
    for (const t of refresh.tracked) notes.push(...(t.closed?.notes(` in netns ${t.label}`) ?? []));
    return notes;
  }
}
