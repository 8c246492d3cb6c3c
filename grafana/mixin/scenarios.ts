// Hand-written input series for the promtool tests, one scenario per alert:
// hosts where it must fire (the expected labels and value), and controls
// that must stay quiet (below the threshold, a look-alike the definition
// says is not the incident, or not yet for `for:`). Numbers are derived
// from the configured thresholds and window, so a changed config still
// gets tests that mean the same.
import type { Thresholds } from '../../src/incidents/thresholds';
import { num } from './promql';

export interface Series {
  series: string;
  values: string;
}

export interface Expected {
  labels: Record<string, string>;
  value: number;
}

export interface Scenario {
  name: string;
  alert: string;
  /** Seconds between input samples. */
  interval: number;
  series: Series[];
  /** Evaluation times (seconds) at which the alert must not fire. */
  quiet: number[];
  firing: { at: number; alerts: Expected[] };
}

export interface ScenarioContext {
  job: string;
  th: Thresholds;
  /** The rules' window, seconds. */
  window: number;
}

type Labels = Record<string, string>;

/** A series of `instance` and the labels the alert keeps from it. */
export function seriesOf(
  job: string,
  name: string,
  instance: string,
  labels: Labels,
  values: string,
): Series {
  const all = { job, instance: `${instance}:19561`, ...labels };
  const text = Object.entries(all)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(',');
  return { series: `${name}{${text}}`, values };
}

export const host = (job: string, instance: string, labels: Labels = {}): Labels => ({
  job,
  instance: `${instance}:19561`,
  ...labels,
});

/** Explicit values: f(step) for `count` steps. */
export const each = (count: number, f: (i: number) => number) =>
  Array.from({ length: count }, (_, i) => num(f(i))).join(' ');

/** 20 quiet samples at 0, then a counter rising by `step` per sample. */
export const risingAfter = (step: number, count = 40) => `0x20 0+${num(step)}x${count}`;

export function listenerScenarios(c: ScenarioContext): Scenario[] {
  const { job, th, window } = c;
  const n = (name: string, inst: string, l: Labels, v: string) => seriesOf(job, name, inst, l, v);
  const at = (port: string) => ({ family: 'inet', address: '0.0.0.0', port });
  const over = (field: string) => ({ group: 'TcpExt', field });
  const stepsPerWindow = window / 15;
  // A backlog of 100 keeps the percentages free of rounding ties.
  const full = Math.ceil(100 * th.synBacklogRatio);
  return [
    {
      name: 'accept queue overflow',
      alert: 'SockdiagAcceptQueueOverflow',
      interval: 15,
      series: [
        // Full from 5m15s on (the kernel admits one more than the limit).
        n('sockdiag_listener_accept_queue_length', 'web', at('8080'), '0x20 129x40'),
        n('sockdiag_listener_accept_queue_limit', 'web', at('8080'), '128x60'),
        // Busy, not full; and listen(fd, 0): no limit to be full against.
        n('sockdiag_listener_accept_queue_length', 'web', at('9090'), '100x60'),
        n('sockdiag_listener_accept_queue_limit', 'web', at('9090'), '128x60'),
        n('sockdiag_listener_accept_queue_length', 'web', at('7000'), '0x60'),
        n('sockdiag_listener_accept_queue_limit', 'web', at('7000'), '0x60'),
        // Drops alone (SYN-queue, memory) are not an accept-queue overflow.
        n('sockdiag_listener_drops_total', 'web', at('9090'), '0+5x60'),
        n('sockdiag_netstat_total', 'web', over('ListenDrops'), '0+5x60'),
        // A host without the listeners collector: the counter alone.
        n('sockdiag_netstat_total', 'nolisteners', over('ListenOverflows'), risingAfter(2)),
      ],
      quiet: [300, 360],
      firing: {
        at: 600,
        alerts: [
          { labels: host(job, 'web', at('8080')), value: 129 },
          {
            labels: host(job, 'nolisteners', over('ListenOverflows')),
            value: 2 * stepsPerWindow,
          },
        ],
      },
    },
    {
      name: 'SYN queue overflow',
      alert: 'SockdiagSynQueueOverflow',
      interval: 15,
      series: [
        n('sockdiag_netstat_total', 'web', over('TCPReqQFullDrop'), risingAfter(3)),
        n('sockdiag_listener_half_open_sockets', 'web', at('443'), `0x20 ${full}x40`),
        n('sockdiag_listener_accept_queue_limit', 'web', at('443'), '100x60'),
        // Below the threshold.
        n('sockdiag_listener_half_open_sockets', 'web', at('80'), `${Math.max(full - 20, 0)}x60`),
        n('sockdiag_listener_accept_queue_limit', 'web', at('80'), '100x60'),
        // A full queue answered with cookies drops nothing: syn_cookies says so.
        n('sockdiag_netstat_total', 'cookies', over('TCPReqQFullDoCookies'), '0+5x60'),
      ],
      quiet: [300],
      firing: {
        at: 600,
        alerts: [
          { labels: host(job, 'web', over('TCPReqQFullDrop')), value: 3 * stepsPerWindow },
          { labels: host(job, 'web', at('443')), value: full / 100 },
        ],
      },
    },
    {
      name: 'SYN cookies',
      alert: 'SockdiagSynCookies',
      interval: 15,
      series: [
        // One cookie per window: any rise fires, as in the check.
        n(
          'sockdiag_netstat_total',
          'web',
          over('SyncookiesSent'),
          `0x20 ${each(40, (i) => 1 + Math.floor((i * 15) / window))}`,
        ),
        // Cookies received or failing validation are evidence, not the signal.
        n('sockdiag_netstat_total', 'db', over('SyncookiesFailed'), '0+5x60'),
        n('sockdiag_netstat_total', 'db', over('SyncookiesRecv'), '0+5x60'),
      ],
      quiet: [300],
      firing: { at: 600, alerts: [{ labels: host(job, 'web', over('SyncookiesSent')), value: 1 }] },
    },
  ];
}
