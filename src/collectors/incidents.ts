// incidents: the classic TCP failure modes, evaluated on every scrape from
// the socket table, the listeners, counter rises since the previous scrape
// and the sysctls. Every check is always present, so alerts can key on it.
import type { Logger } from 'pino';
import { STATE_SLOTS, TcpState } from '../diag';
import { THRESHOLD_OPTIONS } from '../incidents/thresholds';
import type { Finding, IncidentInput, TableFacts } from '../incidents/types';
import type { TableScan } from '../scan/table-scan';
import { defineCollector, type MetricFamily, type MetricSample } from './collector';
import type { ScrapeSources } from './sources';

async function settle<T>(log: Logger, what: string, value: Promise<T>): Promise<T | null> {
  try {
    return await value;
  } catch (error) {
    log.warn({ err: error, source: what }, 'incident checks run without this source');
    return null;
  }
}

export function tableFacts(scan: TableScan): TableFacts {
  const states = scan.totals.tcp.states;
  const count = (state: TcpState) => states[state]! + states[STATE_SLOTS + state]!;
  return {
    established: count(TcpState.Established),
    timeWait: count(TcpState.TimeWait),
    idleWithoutKeepalive: scan.idleWithoutKeepaliveOverThreshold,
    ghostExamples: scan.ghostExamples,
    tcpInfoAvailable: scan.tcpInfoAvailable,
    socketsWithDrops: scan.totals.tcp.socketsWithDrops,
    drops: scan.totals.tcp.drops,
    busiestTuplePorts: scan.peers.busiestTuple(false).ports,
    ephemeralRangeSize: scan.ephemeralRange[1] - scan.ephemeralRange[0] + 1,
    timeWaitByServicePort: scan.timeWaitByServicePort(5),
  };
}

/** One sample of everything the checks read; a source that fails is null (and logged). */
export async function gatherInput(
  sources: ScrapeSources,
  now: number,
  log: Logger,
): Promise<IncidentInput> {
  const [netstat, sysctl, listeners, scan] = await Promise.all([
    settle(log, 'netstat', sources.netstat),
    settle(log, 'sysctl', sources.sysctls),
    settle(log, 'listeners', sources.listeners),
    settle(log, 'socket table', sources.tableScan),
  ]);
  return {
    now,
    netstat: netstat?.values ?? null,
    sysctl,
    listeners,
    table: scan ? tableFacts(scan) : null,
  };
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
      help: 'Whether the check had the data to decide (0: first scrape for a rate-based check, or a source missing).',
      type: 'gauge',
      values: evaluated,
    },
    {
      name: 'sockdiag_incident_evidence',
      help: 'The numbers each incident check looked at: counter rises since the previous scrape, rates, counts and the sysctls they are compared with.',
      type: 'gauge',
      values: evidence,
    },
  ];
}

export const incidentsCollector = defineCollector({
  name: 'incidents',
  help: 'Incident signatures (accept/SYN queue overflow, SYN cookies, TIME_WAIT overflow, port exhaustion, PAWS, receive collapse, keepalive ghosts, churn, resets).',
  defaultEnabled: true,
  readsTable: true,
  options: THRESHOLD_OPTIONS,
  create(_options, services) {
    const service = services.incidents;
    if (!service) throw new Error('the incidents collector needs the incident service');
    return {
      async collect({ sources, now, log }) {
        return incidentFamilies(service.evaluate(await gatherInput(sources, now, log)));
      },
    };
  },
});
