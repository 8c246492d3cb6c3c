// Evaluates every check on one input. Counter rises come from the baseline
// the service chose in its own samples; the table is compared with an
// earlier look at least a sample interval old, never with whichever
// consumer looked last.
import { CHECKS, type CheckContext } from './checks';
import { INCIDENTS } from './definitions';
import type { Thresholds } from './thresholds';
import type { Baseline, Finding, IncidentInput, TableFacts } from './types';

interface TableLook {
  at: number;
  table: TableFacts;
}

export class IncidentEngine {
  private readonly looks: TableLook[] = [];

  /** @param minimumMs how far apart two looks at the table must be to compare them */
  constructor(
    readonly thresholds: Thresholds,
    private readonly minimumMs = thresholds.sampleInterval * 1000,
  ) {}

  /** The oldest look kept that is at least the minimum span old: the longest comparison. */
  private earlierLook(now: number): TableLook | null {
    return this.looks.find((look) => look.at <= now - this.minimumMs) ?? null;
  }

  evaluate(input: IncidentInput, baseline: Baseline): Finding[] {
    const findings = INCIDENTS.map((definition, priority): Finding => ({
      incident: definition.incident,
      title: definition.title,
      severity: definition.severity,
      evaluated: true,
      fired: false,
      notice: false,
      evidence: [],
      details: [],
      remedy: definition.remedy,
      priority,
    }));
    const look = this.earlierLook(input.now);
    const context: CheckContext = {
      input,
      baseline: baseline.sample,
      ...(baseline.missing ? { baselineMissing: baseline.missing } : {}),
      thresholds: this.thresholds,
      earlier: [],
      previousTable: look?.table ?? null,
      previousTableAt: look?.at ?? null,
    };
    const order = [...findings].sort(
      (a, b) =>
        Number(CHECKS.get(a.incident)?.runsLast ?? false) -
        Number(CHECKS.get(b.incident)?.runsLast ?? false),
    );
    const done: Finding[] = [];
    for (const finding of order) {
      const check = CHECKS.get(finding.incident);
      if (!check) throw new Error(`no check for ${finding.incident}`);
      check.run({ ...context, earlier: done }, finding);
      done.push(finding);
    }
    if (input.table) this.remember(input.now, input.table);
    return findings;
  }

  private remember(at: number, table: TableFacts): void {
    const newest = this.looks.at(-1);
    // One look per sample interval is enough to compare with.
    if (newest && at - newest.at < this.minimumMs / 2)
      this.looks[this.looks.length - 1] = { at, table };
    else this.looks.push({ at, table });
    while (this.looks.length > 4) this.looks.shift();
  }
}
