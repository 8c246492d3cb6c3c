// incidents: the classic TCP failure modes, evaluated on every scrape from
// the socket table, the listeners, counter rises since the previous scrape
// and the sysctls. Every check is always present, so alerts can key on it.
import type {
  CollectorDefinition,
  CollectorInstance,
  MetricFamily,
  MetricSample,
  ScrapeContext,
} from './collector';
import { IncidentEngine } from '../incidents/engine';
import type { Finding, IncidentInput, TableFacts, Thresholds } from '../incidents/types';
import { DEFAULT_THRESHOLDS } from '../incidents/types';
import type { TableScan } from '../scan/table-scan';
import { getListeners, getNetstat, getSysctls, getTableScan } from './sources';

export interface IncidentsInstance extends CollectorInstance {
  /** The findings of the newest evaluation, for /doctor. */
  latest: Finding[] | null;
  evaluate(context: ScrapeContext): Promise<Finding[]>;
}

async function settle<T>(
  context: ScrapeContext,
  what: string,
  value: Promise<T>,
): Promise<T | null> {
  try {
    return await value;
  } catch (error) {
    context.log.warn({ err: error, source: what }, 'incident checks run without this source');
    return null;
  }
}

export function tableFacts(scan: TableScan): TableFacts {
  const states = scan.totals.tcp.states;
  const count = (state: number) => states[state]! + states[16 + state]!;
  return {
    established: count(1),
    timeWait: count(6),
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

export async function gatherInput(context: ScrapeContext): Promise<IncidentInput> {
  const [netstat, sysctl, listeners, scan] = await Promise.all([
    settle(context, 'netstat', getNetstat(context)),
    settle(context, 'sysctl', getSysctls(context)),
    settle(context, 'listeners', getListeners(context)),
    settle(context, 'socket table', getTableScan(context)),
  ]);
  return {
    now: context.now,
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

function thresholds(options: Record<string, unknown>): Thresholds {
  return {
    keepaliveIdleSeconds: Number(options['keepalive-idle']),
    twBucketsRatio: Number(options['tw-buckets-ratio']),
    ephemeralRatio: Number(options['ephemeral-ratio']),
    synBacklogRatio: Number(options['syn-backlog-ratio']),
    churnMinOpensPerSecond: Number(options['churn-min-opens']),
    churnRatio: Number(options['churn-ratio']),
    resetsPerSecond: Number(options['resets-rate']),
  };
}

export const incidentsCollector: CollectorDefinition = {
  name: 'incidents',
  help: 'Incident signatures (accept/SYN queue overflow, SYN cookies, TIME_WAIT overflow, port exhaustion, PAWS, receive collapse, keepalive ghosts, churn, resets).',
  defaultEnabled: true,
  options: [
    {
      name: 'keepalive-idle',
      help: 'Seconds an ESTABLISHED socket without keepalive may be idle before it counts as a possible ghost.',
      type: 'number',
      default: DEFAULT_THRESHOLDS.keepaliveIdleSeconds,
    },
    {
      name: 'tw-buckets-ratio',
      help: 'TIME_WAIT sockets / tcp_max_tw_buckets that fires time_wait_bucket_overflow.',
      type: 'number',
      default: DEFAULT_THRESHOLDS.twBucketsRatio,
    },
    {
      name: 'ephemeral-ratio',
      help: 'Ephemeral ports used toward one peer / ip_local_port_range size that fires ephemeral_port_exhaustion.',
      type: 'number',
      default: DEFAULT_THRESHOLDS.ephemeralRatio,
    },
    {
      name: 'syn-backlog-ratio',
      help: "A listener's half-open sockets / its SYN-queue limit (the listen backlog, or 3/4 of tcp_max_syn_backlog without cookies) that fires syn_queue_overflow.",
      type: 'number',
      default: DEFAULT_THRESHOLDS.synBacklogRatio,
    },
    {
      name: 'churn-min-opens',
      help: 'Connections opened per second below which connection_churn never fires.',
      type: 'number',
      default: DEFAULT_THRESHOLDS.churnMinOpensPerSecond,
    },
    {
      name: 'churn-ratio',
      help: 'Connections opened per second per established connection that fires connection_churn.',
      type: 'number',
      default: DEFAULT_THRESHOLDS.churnRatio,
    },
    {
      name: 'resets-rate',
      help: 'OutRsts, EstabResets or AttemptFails per second that fires resets.',
      type: 'number',
      default: DEFAULT_THRESHOLDS.resetsPerSecond,
    },
  ],
  create(options): IncidentsInstance {
    const engine = new IncidentEngine(thresholds(options));
    const instance: IncidentsInstance = {
      latest: null,
      async evaluate(context) {
        const findings = engine.evaluate(await gatherInput(context));
        instance.latest = findings;
        return findings;
      },
      async collect(context) {
        return incidentFamilies(await instance.evaluate(context));
      },
    };
    return instance;
  },
};
