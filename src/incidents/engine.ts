// Evaluates every check on every scrape, keeping the previous sample so
// counter checks look at rises since then, never at totals since boot.
import { CHECKS, listenerKey, type Sample } from './checks';
import { DEFAULT_THRESHOLDS, type Thresholds } from './thresholds';
import type { Finding, IncidentInput } from './types';

export class IncidentEngine {
  private previous: Sample | null = null;

  constructor(readonly thresholds: Thresholds = DEFAULT_THRESHOLDS) {}

  evaluate(input: IncidentInput): Finding[] {
    const context = { input, previous: this.previous, thresholds: this.thresholds };
    const findings = CHECKS.map((check, priority) => {
      const finding: Finding = {
        incident: check.incident,
        title: check.title,
        evaluated: true,
        fired: false,
        evidence: [],
        details: [],
        remedy: check.remedy,
        priority,
      };
      check.run(context, finding);
      return finding;
    });
    // Keep the newest sample; a source that failed this time keeps the old
    // values (and their time) so the next rate spans both intervals instead
    // of restarting, or of dividing two intervals' rise by one interval.
    const previous = this.previous;
    this.previous = {
      now: input.netstat || !previous ? input.now : previous.now,
      netstat: input.netstat ?? previous?.netstat ?? null,
      listenerDrops: input.listeners
        ? new Map(input.listeners.map((l) => [listenerKey(l), l.drops]))
        : (previous?.listenerDrops ?? new Map()),
    };
    return findings;
  }
}

export const INCIDENT_NAMES = CHECKS.map((check) => check.incident);
