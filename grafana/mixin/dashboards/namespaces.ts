// sockdiag / Namespaces: the other network namespaces the exporter scrapes
// with --collector.netns (pods, containers): how many it found and left
// out, which tier each gets, which have an incident firing and in which
// pod, their listeners' queues and their counters. Every selector takes
// `netns!=""`, the namespaces' series only; the other dashboards show one
// namespace at a time through their netns variable.
import { definition } from '../../../src/incidents/definitions';
import type { MixinConfig } from '../config';
import { metric, netstat, type Scope } from '../promql';
import { buildDashboard, type BuiltDashboard, panelContext, type PanelSpec } from './common';
import { RATE, recorded, series, single } from './panels';

const IN_NAMESPACE = 'netns!=""';
const POD = 'pod_uid';

export function namespaces(config: MixinConfig): BuiltDashboard {
  const ctx = panelContext(config, { netns: false });
  const s = ctx.scope;
  const inNs: Scope = { matchers: [...s.matchers, IN_NAMESPACE] };
  const ns = (name: string) => metric(name, inNs);
  const fill = recorded(ctx, 'acceptQueueFill', inNs).expr;
  const listenCounters = [...definition('accept_queue_overflow').counters, 'TcpExt.ListenDrops'];
  const counts = (state: string) => `sum(${metric('sockdiag_netns_namespaces', s, { state })})`;
  // One identity series per namespace and exporter: pod and container onto another series.
  const identity = (labels: string) =>
    `max by (instance, netns, ${labels}) (${metric('sockdiag_netns_info', s)})`;
  const withPod = (expr: string, labels = POD) =>
    `(${expr})\n* on (instance, netns) group_left (${labels})\n${identity(labels)}`;
  const table = (title: string, description: string, unit: string, expr: string): PanelSpec => ({
    kind: 'table',
    title,
    description,
    unit,
    targets: [{ expr, instant: true, format: 'table' }],
    w: 24,
    h: 8,
  });
  return buildDashboard(config, {
    slug: 'namespaces',
    title: 'Namespaces',
    description:
      'The network namespaces besides the host that the exporter scrapes (--collector.netns): counts, tiers, incidents by namespace and pod, listener queues and counters per namespace.',
    netns: false,
    panels: [
      single(
        'Namespaces scraped',
        'Network namespaces scraped on the last scrape besides the host; 0 with pods on the node means the netns collector is off or lacks its capabilities.',
        'short',
        counts('scraped'),
        'scraped',
      ),
      single(
        'Namespaces found',
        'Network namespaces found in /proc and under /run/netns besides the host, before --collector.netns.include and exclude and the limit.',
        'short',
        counts('discovered'),
        'discovered',
      ),
      single(
        'Left out by include/exclude',
        'Namespaces --collector.netns.include or --collector.netns.exclude leaves out on purpose; their pods are not watched.',
        'short',
        counts('filtered'),
        'filtered',
      ),
      single(
        'Beyond the limit',
        'Namespaces past --collector.netns.limit, not scraped; above 0 some pods are not watched: raise the limit or narrow the include expression.',
        'short',
        counts('over_limit'),
        'over limit',
        { redFrom: 1 },
      ),
      single(
        'Processes unreadable',
        "Processes whose /proc/PID/ns/net the exporter could not read despite CAP_SYS_PTRACE (a security module's policy); above 0, namespaces that only they are in are missed.",
        'short',
        `sum(${metric('sockdiag_netns_unreadable_processes', s)})`,
        'unreadable',
        { redFrom: 1 },
      ),
      single(
        'Namespaces with an incident',
        'Namespaces in which at least one incident signature fired on the last scrape; the table below names them and their pods.',
        'short',
        `count(max by (instance, netns) (${ns('sockdiag_incident_detected')}) == 1) or vector(0)`,
        'namespaces',
        { redFrom: 1 },
      ),
      single(
        'Namespaces per tier',
        'How many namespaces get the full tier (the whole socket table: a private established hash, or --collector.netns.full) and how many the cheap one (listeners, counters, sysctls, incidents).',
        'short',
        `sum by (tier) (${ns('sockdiag_netns_tier')})`,
        '{{tier}}',
      ),
      table(
        'Incidents firing by namespace and pod',
        'Every incident firing in a namespace, with the pod UID and container id the namespace belongs to; join pod_uid with kube_pod_info{uid} for the pod name, GET /doctor for the evidence.',
        'short',
        withPod(
          `max by (instance, netns, incident) (${ns('sockdiag_incident_detected')}) == 1`,
          `${POD}, container_id`,
        ),
      ),
      series(
        'Incidents firing per namespace',
        'How many incident signatures fire in each namespace, named by its pod UID; a line above 0 is a pod with an incident under way.',
        'short',
        [
          {
            expr: withPod(`sum by (instance, netns) (${ns('sockdiag_incident_detected')}) > 0`),
            legend: '{{instance}} {{netns}} {{pod_uid}}',
          },
        ],
        { w: 24 },
      ),
      table(
        'Listeners in namespaces',
        'Every listener in a namespace with its accept queue fill and the pod it belongs to; a fill of 100% means the pod refuses connections because it accepts too slowly.',
        'percentunit',
        withPod(fill),
      ),
      series(
        'Fullest accept queues in namespaces',
        'Fill of the ten fullest accept queues in namespaces; at 100% the pod drops completed handshakes (ListenOverflows in that namespace).',
        'percentunit',
        [
          {
            expr: `topk(10, ${fill})`,
            legend: '{{instance}} {{netns}} {{address}}:{{port}}',
          },
        ],
        { redFrom: 1 },
      ),
      series(
        'Listen overflows and drops per namespace',
        'Accept-queue overflows (ListenOverflows) and listen drops per second in each namespace; above 0 the pod of that namespace loses connection attempts.',
        'pps',
        [
          {
            expr: `sum by (instance, netns, field) (rate(${netstat(listenCounters, inNs)}${RATE}))`,
            legend: '{{instance}} {{netns}} {{field}}',
          },
        ],
      ),
      series(
        'TCP sockets and TIME_WAIT per namespace',
        'TCP sockets in use and in TIME_WAIT in the ten busiest namespaces (sockstat, every tier); a namespace climbing in TIME_WAIT opens a connection per request.',
        'short',
        [
          {
            expr: `topk(10, ${ns('sockdiag_sockstat_TCP_inuse')})`,
            legend: '{{instance}} {{netns}} in use',
          },
          {
            expr: `topk(10, ${ns('sockdiag_sockstat_TCP_tw')})`,
            legend: '{{instance}} {{netns}} time_wait',
          },
        ],
      ),
      table(
        'Namespaces',
        'Each namespace the exporter scrapes: its netns label, inode, the cgroup of a process in it with the pod UID and container id it names, and its tier.',
        'short',
        `${identity(`inode, cgroup, ${POD}, container_id`)}\n* on (instance, netns) group_left (tier)\nmax by (instance, netns, tier) (${ns('sockdiag_netns_tier')})`,
      ),
      {
        kind: 'state-timeline',
        title: 'Per-namespace collectors',
        description:
          'Whether each collector succeeded in every namespace, as the worst namespace; red means some namespace lost those metrics: the exporter log names the namespace and the error (often a missing capability).',
        unit: 'bool_yes_no',
        targets: [
          {
            expr: `min by (collector) (${ns('sockdiag_scrape_collector_success')})`,
            legend: '{{collector}}',
          },
        ],
        w: 24,
        h: 6,
      },
    ],
  });
}
