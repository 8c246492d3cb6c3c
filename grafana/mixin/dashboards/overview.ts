// sockdiag / Overview: the incidents the exporter detects, the socket
// states, the queues, drops, resets and retransmissions, and scrape health.
import { definition, INCIDENTS } from '../../../src/incidents/definitions';
import type { MixinConfig } from '../config';
import { metric, netstat } from '../promql';
import { buildDashboard, type BuiltDashboard, panelContext, type TextSpec } from './common';
import { alertNote, counterRates, ON, percent, recorded, series, single } from './panels';

/** The short name of an incident: its title up to the colon. */
function shortTitle(incident: string): string {
  return definition(incident).title.split(':')[0]!;
}

/** The definitions table, for the reader of the dashboard. */
function incidentTable(): TextSpec {
  const rows = INCIDENTS.map(
    (d) =>
      `| ${shortTitle(d.incident)} | ${d.severity} | \`${d.alert}\` | ${d.means} | ${d.remedy} |`,
  );
  return {
    kind: 'text',
    title: 'What the incidents mean',
    description:
      'Each incident the exporter checks (src/incidents/definitions.ts): its severity, its alert, what a firing means and the remedy for the usual cause.',
    content: [
      '| incident | severity | alert | what it means | remedy |',
      '|---|---|---|---|---|',
      ...rows,
    ].join('\n'),
    w: 24,
    h: 14,
  };
}

export function overview(config: MixinConfig): BuiltDashboard {
  const ctx = panelContext(config);
  const s = ctx.scope;
  const th = config.thresholds;
  const tcp = (state?: string) =>
    metric('sockdiag_sockets', s, state ? { protocol: 'tcp', state } : { protocol: 'tcp' });
  const displayNames = Object.fromEntries(
    INCIDENTS.map((d) => [d.incident, shortTitle(d.incident)]),
  );
  return buildDashboard(config, {
    slug: 'overview',
    title: 'Overview',
    description:
      'Socket health of the selected hosts at a glance: incidents, states, TIME_WAIT, accept and SYN queues, drops, resets, retransmissions, scrape health.',
    panels: [
      single(
        'Incidents detected',
        "Incident signatures the exporter's checks detected on the last scrape; above 0 an incident is under way: see the timeline below, the alerts and GET /doctor.",
        'short',
        `sum(${metric('sockdiag_incident_detected', s)})`,
        'incidents',
        { redFrom: 1 },
      ),
      single(
        'ESTABLISHED',
        'TCP connections in ESTABLISHED; a sudden fall means clients cannot connect, a climb without more traffic suggests leaked or ghost connections.',
        'short',
        `sum(${tcp('established')})`,
        'established',
      ),
      single(
        'TIME_WAIT of tcp_max_tw_buckets',
        `TIME_WAIT sockets as a share of net.ipv4.tcp_max_tw_buckets; ${alertNote('time_wait_bucket_overflow', percent(th.twBucketsRatio))}, when the kernel soon closes sockets without TIME_WAIT.`,
        'percentunit',
        `max(${recorded(ctx, 'timeWaitBuckets', s).expr})`,
        'time_wait',
        { redFrom: th.twBucketsRatio },
      ),
      single(
        'Fullest accept queue',
        `Fill of the fullest listener's accept queue; at 100% completed handshakes are dropped (ListenOverflows) and ${alertNote('accept_queue_overflow', '100%')}.`,
        'percentunit',
        `max(${recorded(ctx, 'acceptQueueFill', s).expr})`,
        'fill',
        { redFrom: 1 },
      ),
      single(
        'Listen overflows in range',
        'Accept-queue overflows (TcpExt ListenOverflows) over the selected time range; anything above 0 is a connection attempt the kernel dropped.',
        'short',
        `sum(increase(${netstat(definition('accept_queue_overflow').counters, s)}[$__range]))`,
        'overflows',
        { redFrom: 1 },
      ),
      single(
        'Collectors failing',
        'Collectors that failed on the last scrape; above 0 some metrics are missing and the incident checks that need them have no opinion.',
        'short',
        `sum(1 - ${metric('sockdiag_scrape_collector_success', s)})`,
        'failing',
        { redFrom: 1 },
      ),
      {
        kind: 'state-timeline',
        title: 'Incidents detected by the exporter',
        description:
          "Each incident per scrape from the exporter's own checks, named by its definition; red means detected: its alert, GET /doctor and the panels below show the evidence.",
        unit: 'bool_yes_no',
        targets: [
          {
            expr: `max by (incident) (${metric('sockdiag_incident_detected', s)})`,
            legend: '{{incident}}',
          },
        ],
        redFrom: 1,
        displayNames,
        w: 24,
        h: 8,
      },
      series(
        'TCP sockets by state',
        'TCP sockets per state; a rising close_wait means the application does not close sockets, syn_recv a SYN flood, time_wait near its limit connection churn.',
        'short',
        [{ expr: `sum by (state) (${tcp()})`, legend: '{{state}}' }],
      ),
      series(
        'TCP sockets by owner (cgroup)',
        'The ten cgroups holding most TCP sockets per state (a pod:<uid>/<container> in the kubepods tree, a systemd unit otherwise); one owner climbing in close_wait or time_wait is the one leaking or churning.',
        'short',
        [
          {
            expr: `topk by (state) (10, sum by (instance, netns, cgroup, state) (${metric('sockdiag_cgroup_sockets', s)}) > 0)`,
            legend: `${ON} {{cgroup}} {{state}}`,
          },
        ],
      ),
      series(
        'TIME_WAIT against tcp_max_tw_buckets',
        "TIME_WAIT sockets and their limit; when the line reaches the limit the kernel logs 'time wait bucket table overflow' and skips TIME_WAIT.",
        'short',
        [
          { expr: `sum by (instance, netns) (${tcp('time_wait')})`, legend: `${ON} time_wait` },
          {
            expr: `max by (instance, netns) (${metric('sockdiag_sysctl', s, { name: 'net.ipv4.tcp_max_tw_buckets' })})`,
            legend: `${ON} tcp_max_tw_buckets`,
          },
        ],
      ),
      series(
        'Accept-queue pressure',
        'Fill of the five fullest accept queues; at 100% the listener drops completed handshakes because the application does not accept() fast enough.',
        'percentunit',
        [
          {
            expr: `topk(5, ${recorded(ctx, 'acceptQueueFill', s).expr})`,
            legend: `${ON} {{address}}:{{port}}`,
          },
        ],
        { redFrom: 1 },
      ),
      counterRates(
        ctx,
        'Listen overflows and drops',
        `Packets dropped at listeners because the accept queue was full (ListenOverflows: ${alertNote('accept_queue_overflow')}) or for any reason (ListenDrops).`,
        ['TcpExt.ListenOverflows', 'TcpExt.ListenDrops'],
        'pps',
      ),
      counterRates(
        ctx,
        'SYN cookies and SYN-queue drops',
        `SYN cookies sent mean a SYN queue overflowed (${alertNote('syn_cookies')}); TCPReqQFullDrop above 0 means SYNs were dropped outright (${alertNote('syn_queue_overflow')}).`,
        [
          'TcpExt.SyncookiesSent',
          'TcpExt.SyncookiesRecv',
          'TcpExt.SyncookiesFailed',
          'TcpExt.TCPReqQFullDoCookies',
          'TcpExt.TCPReqQFullDrop',
        ],
        'pps',
      ),
      counterRates(
        ctx,
        'Other overflows and drops',
        'TIME_WAIT overflow, socket backlog, receive-queue, out-of-order and memory drops per second; a sustained non-zero line means lost data or skipped TIME_WAIT.',
        [
          'TcpExt.TCPTimeWaitOverflow',
          'TcpExt.TCPBacklogDrop',
          'TcpExt.TCPRcvQDrop',
          'TcpExt.RcvPruned',
          'TcpExt.OfoPruned',
          'TcpExt.TCPOFODrop',
          'TcpExt.TCPZeroWindowDrop',
          'TcpExt.TCPAbortOnMemory',
        ],
      ),
      counterRates(
        ctx,
        'Resets and failed attempts',
        `Resets sent (OutRsts), established connections reset (EstabResets) and failed connection attempts (AttemptFails) per second; ${alertNote('resets', `${th.resetsRate}/s`)}.`,
        ['Tcp.OutRsts', 'Tcp.EstabResets', 'Tcp.AttemptFails'],
      ),
      series(
        'Retransmitted segments',
        'Share of sent TCP segments that were retransmissions; above a few percent means packet loss or congestion on the path.',
        'percentunit',
        [recorded(ctx, 'retransmittedSegments', s)],
      ),
      series(
        'Sockets retransmitting',
        'ESTABLISHED sockets with unrecovered retransmissions now, and those that ever retransmitted; a rising "now" line means peers or paths are losing packets.',
        'short',
        [
          {
            expr: `sum by (instance, netns) (${metric('sockdiag_tcp_retransmitting_sockets', s)})`,
            legend: `${ON} retransmitting now`,
          },
          {
            expr: `sum by (instance, netns) (${metric('sockdiag_tcp_retransmitted_sockets', s)})`,
            legend: `${ON} ever retransmitted`,
          },
        ],
      ),
      series(
        'Connections opened',
        'New TCP connections per second (Tcp ActiveOpens + PassiveOpens); a jump at steady traffic means connections stopped being reused.',
        'cps',
        [recorded(ctx, 'connectionOpens', s)],
      ),
      {
        kind: 'state-timeline',
        title: 'Collector success',
        description:
          'Whether each collector succeeded on each scrape; red (failed) means its metrics are missing and the exporter log says why.',
        unit: 'bool_yes_no',
        targets: [
          {
            expr: `min by (collector) (${metric('sockdiag_scrape_collector_success', s)})`,
            legend: '{{collector}}',
          },
        ],
        w: 12,
        h: 7,
      },
      series(
        'Collector duration',
        'Time each collector takes per scrape; near the scrape timeout the socket table is huge: raise --scrape.min-interval or the scrape interval.',
        's',
        [
          {
            expr: `max by (collector) (${metric('sockdiag_scrape_collector_duration_seconds', s)})`,
            legend: '{{collector}}',
          },
        ],
        { h: 7 },
      ),
      incidentTable(),
    ],
  });
}
