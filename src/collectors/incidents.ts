// incidents: the classic TCP failure modes, evaluated on every scrape from
// the socket table, the listeners, the sysctls and counter rises over the
// incident service's window. Every check is always present, so alerts can
// key on it; one that could not look says so (evaluated 0).
import type { Logger } from 'pino';
import { STATE_SLOTS, TcpState } from '../diag';
import { THRESHOLD_OPTIONS } from '../incidents/thresholds';
import type { Finding, IncidentInput, TableFacts } from '../incidents/types';
import { type Owners, ownerText } from '../owners';
import type { Listener } from '../scan/listeners';
import type { TableScan } from '../scan/table-scan';
import { defineCollector, type MetricFamily, type MetricSample } from './collector';
import { NO_TABLE, type ScrapeSources } from './sources';

type Settled<T> = { value: T; error?: undefined } | { value: null; error: string };

async function settle<T>(log: Logger, what: string, value: Promise<T>): Promise<Settled<T>> {
  try {
    return { value: await value };
  } catch (error) {
    log.warn({ err: error, source: what }, 'incident checks run without this source');
    return { value: null, error: error instanceof Error ? error.message : String(error) };
  }
}

export function tableFacts(scan: TableScan): TableFacts {
  const states = scan.totals.tcp.states;
  const count = (state: TcpState) => states[state]! + states[STATE_SLOTS + state]!;
  return {
    established: count(TcpState.Established),
    timeWait: count(TcpState.TimeWait),
    idleWithoutKeepalive: scan.idleWithoutKeepaliveOverThreshold,
    ghostPorts: scan.ghostPorts.ports(),
    ghostIdle: scan.ghostPorts.idleBuckets(),
    ghostExamples: scan.ghostExamples,
    tcpInfoAvailable: scan.tcpInfoAvailable,
    // Listeners' drops are listen drops: the receive checks look at the others.
    socketsWithDrops: scan.dropPorts.sockets,
    drops: scan.dropPorts.drops,
    dropPorts: scan.dropPorts.ports(),
    busiestTuplePorts: scan.peers.busiestTuple(false).ports,
    // 0 when ip_local_port_range could not be read: the check then has no opinion.
    ephemeralRangeSize: scan.ephemeralRangeKnown
      ? scan.ephemeralRange[1] - scan.ephemeralRange[0] + 1
      : 0,
    timeWaitPorts: scan.timeWaitPorts(8),
    halfOpen: scan.halfOpenSources.summaries(scan.peersRevealed),
    ghostCgroupIds: [...scan.ghostCgroups],
  };
}

/**
 * One sample of what the checks read; a source that fails is null, with
 * why. `withTable`: the scrape's full table (the service's own samples
 * read only the cheap sources).
 */
export async function gatherInput(
  sources: ScrapeSources,
  now: number,
  log: Logger,
  withTable: boolean,
): Promise<IncidentInput> {
  const [netstat, sysctl, listeners, scan] = await Promise.all([
    settle(log, 'netstat', sources.netstat),
    settle(log, 'sysctl', sources.sysctls),
    settle(log, 'listeners', sources.listeners),
    withTable && sources.config.table !== false
      ? settle(log, 'socket table', sources.tableScan)
      : null,
  ]);
  const counters = netstat.value?.values;
  const input: IncidentInput = {
    now,
    netstat: counters && counters.size > 0 ? counters : null,
    sysctl: sysctl.value && sysctl.value.size > 0 ? sysctl.value : null,
    listeners: listeners.value,
    table: scan?.value ? tableFacts(scan.value) : null,
    closed: sources.closed?.facts(now) ?? null,
  };
  if (input.table && sources.owners) await nameOwners(input.table, listeners.value, sources.owners);
  if (!input.netstat) {
    input.netstatError =
      netstat.error ?? `no counter could be read under ${sources.procfs}/net (netstat, snmp)`;
  }
  if (!input.table) {
    input.tableError = scan
      ? `the socket table dump failed: ${scan.error}`
      : sources.config.table === false
        ? NO_TABLE
        : 'no table in this sample';
  }
  return input;
}

/** Who holds the service ports and the possible ghosts, in words, for the findings. */
async function nameOwners(
  table: TableFacts,
  listeners: Listener[] | null,
  owners: Owners,
): Promise<void> {
  const byPort = new Map<number, string>();
  for (const l of listeners ?? []) {
    const text = ownerText(l.owner);
    if (text && !byPort.has(l.port)) byPort.set(l.port, text);
  }
  for (const port of table.timeWaitPorts) {
    const owner = byPort.get(port.port);
    if (owner) port.owner = owner;
  }
  const ghosts = [...(table.ghostCgroupIds ?? [])].sort((a, b) => b[1] - a[1]).slice(0, 3);
  const cgroups = await owners.cgroups(ghosts.map(([id]) => id));
  table.ghostOwners = ghosts.map(([id, sockets]) => ({
    owner:
      ownerText({ cgroup: cgroups.get(id) ?? null, process: null }) ??
      (id === 0 ? 'no cgroup' : `cgroup id ${id}`),
    sockets,
  }));
}

export function incidentFamilies(findings: Finding[]): MetricFamily[] {
  const detected: MetricSample[] = [];
  const evaluated: MetricSample[] = [];
  const evidence: MetricSample[] = [];
  for (const finding of findings) {
    const labels = { incident: finding.incident };
    detected.push({ labels, value: finding.fired ? 1 : 0 });
    evaluated.push({ labels, value: finding.evaluated ? 1 : 0 });
    for (const item of finding.evidence) {
      evidence.push({
        labels: { incident: finding.incident, evidence: item.name },
        value: item.value,
      });
    }
  }
  return [
    {
      name: 'sockdiag_incident_detected',
      help: 'Whether an incident signature fired on this scrape (1) or not (0). GET /doctor explains the evidence and the remedy.',
      type: 'gauge',
      values: detected,
    },
    {
      name: 'sockdiag_incident_evaluated',
      help: 'Whether the check could look (0: no counter sample a window old yet, or an input it needs could not be read; GET /doctor says which).',
      type: 'gauge',
      values: evaluated,
    },
    {
      name: 'sockdiag_incident_evidence',
      help: 'The numbers each incident check looked at: counter rises over the rate window, rates, counts and the sysctls they are compared with.',
      type: 'gauge',
      values: evidence,
    },
  ];
}

export const incidentsCollector = defineCollector({
  name: 'incidents',
  help: 'Incident signatures (accept/SYN queue overflow, SYN cookies, TIME_WAIT overflow and reuse, port exhaustion, PAWS, receive collapse, keepalive ghosts, churn, resets).',
  defaultEnabled: true,
  readsTable: true,
  options: THRESHOLD_OPTIONS,
  create(_options, services) {
    const service = services.incidents;
    if (!service) throw new Error('the incidents collector needs the incident service');
    return {
      async collect({ sources, now, log }) {
        return incidentFamilies(service.evaluate(await gatherInput(sources, now, log, true)));
      },
    };
  },
});
