// What every check gets, and the small helpers they share: counter rises
// over the service's rate window, evidence, "no opinion" and wording.
import { ownerText } from '../../owners';
import { formatEndpoint } from '../../scan/endpoint';
import type { Listener } from '../../scan/listeners';
import type { Thresholds } from '../thresholds';
import type { CounterSample, Evidence, Finding, IncidentInput } from '../types';

export interface CheckContext {
  input: IncidentInput;
  /** The counters at the start of the rate window; null with `baselineMissing`. */
  baseline: CounterSample | null;
  baselineMissing?: string;
  thresholds: Thresholds;
  /** Findings of the checks that ran before this one (churn weighs them as harm). */
  earlier: readonly Finding[];
  /** The previous evaluation's table facts, for changes between two looks. */
  previousTable: IncidentInput['table'] | null;
  previousTableAt: number | null;
}

export interface Check {
  incident: string;
  /** Runs after the others, whose findings it weighs (connection churn). */
  runsLast?: boolean;
  run(context: CheckContext, finding: Finding): void;
}

/** Why counter rises cannot be computed now, else null. */
export function countersMissing(context: CheckContext): string | null {
  if (!context.input.netstat) {
    return `cannot read the kernel counters (/proc/net/netstat, /proc/net/snmp)${context.input.netstatError ? `: ${context.input.netstatError}` : ''}`;
  }
  if (!context.baseline?.netstat) return context.baselineMissing ?? 'no counter sample yet';
  return null;
}

/** Counter increase over the window; null without a baseline or for a field this kernel lacks. */
export function rise(context: CheckContext, key: string): number | null {
  const now = context.input.netstat?.get(key);
  const before = context.baseline?.netstat?.get(key);
  if (now === undefined || before === undefined) return null;
  // A counter that went backwards was reset (a namespace re-created): count from zero.
  return now >= before ? now - before : now;
}

/** Seconds the rate window spans. */
export function windowSeconds(context: CheckContext): number {
  const base = context.baseline;
  return base ? Math.max((context.input.now - base.at) / 1000, 0.001) : 0;
}

export function sysctl(context: CheckContext, name: string): number | undefined {
  return context.input.sysctl?.get(name);
}

export function add(finding: Finding, name: string, value: number, unit: string): Evidence {
  const evidence = { name, value, unit };
  finding.evidence.push(evidence);
  return evidence;
}

/** Adds a counter's rise as evidence; returns it (null when unknown). */
export function addRise(context: CheckContext, finding: Finding, key: string): number | null {
  const value = rise(context, key);
  if (value !== null) add(finding, `${key} increase`, value, 'events');
  return value;
}

export function noOpinion(finding: Finding, reason: string): void {
  finding.evaluated = false;
  finding.fired = false;
  finding.reason = reason;
}

export function fire(finding: Finding, cause: string): void {
  finding.fired = true;
  finding.cause ??= cause;
}

/** "1 socket", "3 sockets". */
export function count(n: number, singular: string, plural = `${singular}s`): string {
  return `${n} ${n === 1 ? singular : plural}`;
}

/** "0.0.0.0:8080 (nginx, nginx.service)": the endpoint and who holds it. */
export function where(listener: Listener): string {
  const owner = ownerText(listener.owner);
  return owner ? `${formatEndpoint(listener)} (${owner})` : formatEndpoint(listener);
}

/** " (nginx, nginx.service)" for a service port's listener owner, or "". */
export function heldBy(owner: string | undefined): string {
  return owner ? ` (${owner})` : '';
}

/** A per-second rate with sensible precision. */
export function perSecond(value: number): string {
  return value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2);
}

/** Listener drop counter rise over the window, or null without a baseline for it. */
export function listenerDropsRise(
  context: CheckContext,
  key: string,
  drops: number,
): number | null {
  const map = context.baseline?.listenerDrops;
  if (!map) return null;
  // A listener missing from the start of the window was made since: all its drops are new.
  const before = map.get(key) ?? 0;
  return drops >= before ? drops - before : drops;
}
