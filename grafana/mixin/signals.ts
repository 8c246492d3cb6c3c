// The expressions that decide each incident in Prometheus, written from the
// same definitions and thresholds as the exporter's checks
// (src/incidents/definitions.ts, thresholds.ts): the same counters, the same
// comparisons, counter rises over the checks' window. The alert rules, the
// recording rules and the dashboards' panels share them.
import {
  CHURN_TIME_WAIT_PRESSURE,
  definition,
  RESET_KIND_COUNTERS,
} from '../../src/incidents/definitions';
import type { Thresholds } from '../../src/incidents/thresholds';
import { BY, duration, leMatcher, metric, metricWith, netstat, num, type Scope } from './promql';

/** What every expression needs: whose series, which thresholds, which window. */
export interface RuleContext {
  scope: Scope;
  th: Thresholds;
  /** The checks' window as a PromQL range: "1m". */
  window: string;
}

export function ruleContext(scope: Scope, th: Thresholds): RuleContext {
  return { scope, th, window: duration(th.window) };
}

/** The incident's own counters, as they rose over the window, per counter. */
export function counterRise(c: RuleContext, incident: string): string {
  return `increase(${netstat(definition(incident).counters, c.scope)}[${c.window}])`;
}

export function acceptQueueFill(c: RuleContext): string {
  return `${metric('sockdiag_listener_accept_queue_length', c.scope)} / (${metric('sockdiag_listener_accept_queue_limit', c.scope)} > 0)`;
}

export function halfOpenFill(c: RuleContext): string {
  return `${metric('sockdiag_listener_half_open_sockets', c.scope)} / (${metric('sockdiag_listener_accept_queue_limit', c.scope)} > 0)`;
}

/** TIME_WAIT sockets (both families share the table) against net.ipv4.tcp_max_tw_buckets. */
export function timeWaitBuckets(c: RuleContext): string {
  return [
    `sum by (${BY}) (${metric('sockdiag_sockets', c.scope, { protocol: 'tcp', state: 'time_wait' })})`,
    `/ on (${BY})`,
    `(${metric('sockdiag_sysctl', c.scope, { name: 'net.ipv4.tcp_max_tw_buckets' })} > 0)`,
  ].join('\n');
}

/** TCP connections opened per second, active (connect) plus passive (accept). */
export function connectionOpens(c: RuleContext): string {
  return `sum by (${BY}) (rate(${netstat(definition('connection_churn').counters, c.scope)}[${c.window}]))`;
}

export function established(c: RuleContext): string {
  return `sum by (${BY}) (${metric('sockdiag_sockets', c.scope, { protocol: 'tcp', state: 'established' })})`;
}

export function connectionChurn(c: RuleContext): string {
  return `${connectionOpens(c)}\n/ on (${BY})\nclamp_min(${established(c)}, 1)`;
}

export function retransmittedSegments(c: RuleContext): string {
  const rate = (field: string) =>
    `sum by (${BY}) (rate(${netstat([`Tcp.${field}`], c.scope)}[${c.window}]))`;
  return `${rate('RetransSegs')}\n/ on (${BY})\n(${rate('OutSegs')} > 0)`;
}

/** ESTABLISHED sockets without keepalive idle longer than the checks' keepaliveIdle. */
export function keepaliveGhosts(c: RuleContext): string {
  const noKeepalive = { keepalive: 'false' };
  return [
    `sum by (${BY}) (${metric('sockdiag_tcp_idle_seconds_count', c.scope, noKeepalive)})`,
    `- sum by (${BY}) (${metricWith('sockdiag_tcp_idle_seconds_bucket', c.scope, leMatcher(c.th.keepaliveIdle), noKeepalive)})`,
  ].join('\n');
}

/** The exporter's own verdict, for a signature only its check can see. */
export function detected(c: RuleContext, incident: string): string {
  return `max by (${BY}) (${metric('sockdiag_incident_detected', c.scope, { incident })}) == 1`;
}

/** Resets sent, and aborts, failed connects and established resets together, per second. */
export function resets(c: RuleContext): string {
  const rate = (keys: readonly string[], by: string) =>
    `sum by (${by}) (rate(${netstat(keys, c.scope)}[${c.window}]))`;
  const limit = num(c.th.resetsRate);
  return [
    `${rate(['Tcp.OutRsts'], `${BY}, group, field`)} >= ${limit}`,
    'or',
    `${rate(RESET_KIND_COUNTERS, BY)} >= ${limit}`,
  ].join('\n');
}

/** What makes churn matter (the churn check's harm): any of these firing. */
export function churnHarm(c: RuleContext): string {
  return [
    `(${resets(c)})`,
    `(${metric('sockdiag_ephemeral_ports_busiest_tuple_ratio', c.scope)} >= ${num(c.th.ephemeralRatio)})`,
    `(${detected(c, 'time_wait_reuse')})`,
    `(${counterRise(c, 'time_wait_bucket_overflow')} > 0)`,
    `(${timeWaitBuckets(c)} >= ${num(CHURN_TIME_WAIT_PRESSURE)})`,
  ].join('\nor\n');
}
