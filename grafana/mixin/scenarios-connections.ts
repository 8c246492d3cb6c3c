// promtool scenarios for the TIME_WAIT, PAWS, buffer, idle, churn and
// reset alerts and the exporter's health (the listener ones are in
// scenarios.ts, which describes the shape).
import { num } from './promql';
import {
  each,
  host,
  risingAfter,
  type Scenario,
  type ScenarioContext,
  seriesOf,
} from './scenarios';

type Labels = Record<string, string>;

export function timeWaitScenarios(c: ScenarioContext): Scenario[] {
  const { job, th, window } = c;
  const n = (name: string, inst: string, l: Labels, v: string) => seriesOf(job, name, inst, l, v);
  const tw = (family: string) => ({ protocol: 'tcp', family, state: 'time_wait' });
  const buckets = { name: 'net.ipv4.tcp_max_tw_buckets' };
  const nearlyFull = Math.ceil(1000 * th.twBucketsRatio) + 50;
  const ext = (field: string) => ({ group: 'TcpExt', field });
  return [
    {
      name: 'TIME_WAIT bucket overflow',
      alert: 'SockdiagTimeWaitBucketOverflow',
      interval: 15,
      series: [
        n('sockdiag_netstat_total', 'web', ext('TCPTimeWaitOverflow'), risingAfter(2)),
        // Both families share the table.
        n('sockdiag_sockets', 'lb', tw('inet'), `100x20 ${nearlyFull - 150}x40`),
        n('sockdiag_sockets', 'lb', tw('inet6'), '0x20 150x40'),
        n('sockdiag_sysctl', 'lb', buckets, '1000x60'),
        // Many TIME_WAIT sockets below the limit are normal.
        n('sockdiag_sockets', 'db', tw('inet'), `${Math.max(nearlyFull - 350, 0)}x60`),
        n('sockdiag_sysctl', 'db', buckets, '1000x60'),
        // A pod's namespace on db (--collector.netns): its own table and
        // limit, nearly full, while db's own stays below; neither is summed
        // into the other, and the join on the sysctl stays one-to-one.
        n('sockdiag_sockets', 'db', { ...tw('inet'), netns: 'cni-1' }, `0x20 ${nearlyFull}x40`),
        n('sockdiag_sysctl', 'db', { ...buckets, netns: 'cni-1' }, '1000x60'),
      ],
      quiet: [300],
      firing: {
        at: 600,
        alerts: [
          { labels: host(job, 'web', ext('TCPTimeWaitOverflow')), value: (2 * window) / 15 },
          { labels: host(job, 'lb'), value: nearlyFull / 1000 },
          { labels: host(job, 'db', { netns: 'cni-1' }), value: nearlyFull / 1000 },
        ],
      },
    },
    {
      name: 'ephemeral port exhaustion',
      alert: 'SockdiagEphemeralPortExhaustion',
      interval: 15,
      series: [
        n(
          'sockdiag_ephemeral_ports_busiest_tuple_ratio',
          'proxy',
          {},
          `0.1x20 ${num(th.ephemeralRatio)}x60`,
        ),
        n(
          'sockdiag_ephemeral_ports_busiest_tuple_ratio',
          'web',
          {},
          `${num(th.ephemeralRatio * 0.9)}x80`,
        ),
      ],
      // At the threshold since 5m15s (the check fires at it too), not yet for 5m.
      quiet: [300, 540],
      firing: { at: 720, alerts: [{ labels: host(job, 'proxy'), value: th.ephemeralRatio }] },
    },
    {
      name: 'TIME_WAIT reuse',
      alert: 'SockdiagTimeWaitReuse',
      interval: 60,
      series: [
        n('sockdiag_incident_detected', 'web', { incident: 'time_wait_reuse' }, '0x5 1x20'),
        // Seen once, for a minute: not for 5m.
        n('sockdiag_incident_detected', 'api', { incident: 'time_wait_reuse' }, '0x5 1 0x20'),
      ],
      quiet: [300],
      firing: { at: 900, alerts: [{ labels: host(job, 'web'), value: 1 }] },
    },
    {
      name: 'PAWS rejects',
      alert: 'SockdiagPawsRejects',
      interval: 15,
      series: [
        // One reject per window: any rise fires, as in the check.
        n(
          'sockdiag_netstat_total',
          'web',
          ext('PAWSTimewait'),
          `0x20 ${each(60, (i) => 1 + Math.floor((i * 15) / window))}`,
        ),
        // Rate-limited answers to rejects are evidence, not rejects.
        n('sockdiag_netstat_total', 'db', ext('TCPACKSkippedPAWS'), '0+10x80'),
      ],
      quiet: [300, 540],
      firing: { at: 900, alerts: [{ labels: host(job, 'web', ext('PAWSTimewait')), value: 1 }] },
    },
  ];
}

export function connectionScenarios(c: ScenarioContext): Scenario[] {
  const { job, th, window } = c;
  const n = (name: string, inst: string, l: Labels, v: string) => seriesOf(job, name, inst, l, v);
  const ext = (field: string) => ({ group: 'TcpExt', field });
  const tcp = (field: string) => ({ group: 'Tcp', field });
  const idle = (keepalive: string, le?: string): Labels => (le ? { keepalive, le } : { keepalive });
  const bound = num(th.keepaliveIdle);
  // Churn: twice the minimum opens per second, at twice the ratio.
  const opens = 2 * th.churnMinOpens;
  const est = Math.max(1, Math.round(opens / (2 * th.churnRatio)));
  const established = { protocol: 'tcp', family: 'inet', state: 'established' };
  // 15 s samples: the rules' window must always hold several of them.
  const perSecond = (rate: number) => `0x40 0+${num(rate * 15)}x160`;
  return [
    {
      name: 'receive buffer collapse',
      alert: 'SockdiagReceiveBufferCollapse',
      interval: 15,
      series: [
        n('sockdiag_netstat_total', 'web', ext('RcvPruned'), risingAfter(1, 60)),
        n('sockdiag_netstat_total', 'web', ext('TCPRcvQDrop'), '0x80'),
        // PruneCalled alone: autotuned receivers trimming their queues.
        n('sockdiag_netstat_total', 'db', ext('PruneCalled'), '0+100x80'),
        // Live sockets dropping more; and drops that fall as sockets close.
        n('sockdiag_socket_drops', 'app', { protocol: 'tcp' }, '0x20 0+10x60'),
        n('sockdiag_socket_drops', 'db', { protocol: 'tcp' }, '500-5x80'),
      ],
      quiet: [300],
      firing: {
        at: 900,
        alerts: [
          { labels: host(job, 'web', ext('RcvPruned')), value: window / 15 },
          { labels: host(job, 'app', { protocol: 'tcp' }), value: (10 * window) / 15 },
        ],
      },
    },
    {
      name: 'keepalive ghosts',
      alert: 'SockdiagKeepaliveGhosts',
      interval: 60,
      series: [
        // 300 without keepalive, 150 of them idle beyond the threshold.
        n('sockdiag_tcp_idle_seconds_count', 'app', idle('false'), '50x10 300x120'),
        n('sockdiag_tcp_idle_seconds_bucket', 'app', idle('false', bound), '50x10 150x120'),
        // Idle sockets with keepalive are not ghosts.
        n('sockdiag_tcp_idle_seconds_count', 'app', idle('true'), '1000x130'),
        n('sockdiag_tcp_idle_seconds_bucket', 'app', idle('true', bound), '0x130'),
        // Prometheus 3 writes le as a float.
        n('sockdiag_tcp_idle_seconds_count', 'p3', idle('false'), '50x10 250x120'),
        n('sockdiag_tcp_idle_seconds_bucket', 'p3', idle('false', `${bound}.0`), '50x10 50x120'),
        // Every socket without keepalive received something recently.
        n('sockdiag_tcp_idle_seconds_count', 'db', idle('false'), '100x130'),
        n('sockdiag_tcp_idle_seconds_bucket', 'db', idle('false', bound), '100x130'),
      ],
      // Ghosts since 11m, not yet for 1h.
      quiet: [300, 3600],
      firing: {
        at: 4800,
        alerts: [
          { labels: host(job, 'app'), value: 150 },
          { labels: host(job, 'p3'), value: 200 },
        ],
      },
    },
    {
      name: 'connection churn',
      alert: 'SockdiagConnectionChurn',
      interval: 15,
      series: [
        // Churn with harm: resets at twice their threshold.
        n('sockdiag_netstat_total', 'api', tcp('ActiveOpens'), perSecond(opens * 0.75)),
        n('sockdiag_netstat_total', 'api', tcp('PassiveOpens'), perSecond(opens * 0.25)),
        n('sockdiag_sockets', 'api', established, `${est}x200`),
        n('sockdiag_netstat_total', 'api', tcp('OutRsts'), perSecond(2 * th.resetsRate)),
        // The same churn without harm is informational: it does not fire.
        n('sockdiag_netstat_total', 'calm', tcp('PassiveOpens'), perSecond(opens)),
        n('sockdiag_sockets', 'calm', established, `${est}x200`),
        // Reused connections: the same opens against many more established.
        n('sockdiag_netstat_total', 'pool', tcp('PassiveOpens'), perSecond(opens)),
        n('sockdiag_sockets', 'pool', established, `${est * 25}x200`),
        n('sockdiag_netstat_total', 'pool', tcp('OutRsts'), perSecond(2 * th.resetsRate)),
      ],
      // Churning since 10m30s, not yet for 15m.
      quiet: [600, 1200],
      firing: { at: 2400, alerts: [{ labels: host(job, 'api'), value: opens / est }] },
    },
    {
      name: 'resets',
      alert: 'SockdiagResets',
      interval: 15,
      series: [
        n('sockdiag_netstat_total', 'web', tcp('OutRsts'), risingAfter(2 * th.resetsRate * 15, 60)),
        // Below the threshold alone, and together with web's other kinds.
        n(
          'sockdiag_netstat_total',
          'web',
          tcp('EstabResets'),
          `0+${num(th.resetsRate * 0.5 * 15)}x80`,
        ),
        // Aborts of several kinds that together pass the threshold.
        n(
          'sockdiag_netstat_total',
          'abort',
          ext('TCPAbortOnTimeout'),
          risingAfter(th.resetsRate * 15, 60),
        ),
        n(
          'sockdiag_netstat_total',
          'abort',
          ext('TCPAbortOnData'),
          risingAfter(th.resetsRate * 0.5 * 15, 60),
        ),
      ],
      quiet: [300],
      firing: {
        at: 900,
        alerts: [
          { labels: host(job, 'web', tcp('OutRsts')), value: 2 * th.resetsRate },
          { labels: host(job, 'abort'), value: 1.5 * th.resetsRate },
        ],
      },
    },
    {
      name: 'collector failed',
      alert: 'SockdiagCollectorFailed',
      interval: 15,
      series: [
        n('sockdiag_scrape_collector_success', 'web', { collector: 'sockets' }, '1x20 0x40'),
        n('sockdiag_scrape_collector_success', 'web', { collector: 'netstat' }, '1x60'),
      ],
      quiet: [300],
      firing: {
        at: 720,
        alerts: [{ labels: host(job, 'web', { collector: 'sockets' }), value: 0 }],
      },
    },
  ];
}
