// What fired recently, for /doctor: an incident seen on any evaluation (a
// scrape, /doctor, the service's own samples) stays listed, with when it
// first and last fired and the evidence at its peak, until it has been
// quiet for the remembered span.
import type { Finding, RecentFinding } from './types';

export class RecentFindings {
  private readonly entries = new Map<string, RecentFinding & { peakValue: number }>();

  constructor(private readonly rememberMs: number) {}

  record(findings: readonly Finding[], at: number): void {
    for (const finding of findings) {
      if (!finding.fired) continue;
      // The first evidence item is each check's main number.
      const value = finding.evidence[0]?.value ?? 0;
      const entry = this.entries.get(finding.incident);
      if (!entry) {
        this.entries.set(finding.incident, {
          incident: finding.incident,
          title: finding.title,
          severity: finding.severity,
          firstAt: at,
          lastAt: at,
          times: 1,
          ...(finding.cause ? { cause: finding.cause } : {}),
          details: [...finding.details],
          peak: finding.evidence.map((e) => ({ ...e })),
          peakValue: value,
        });
        continue;
      }
      entry.lastAt = Math.max(entry.lastAt, at);
      entry.times++;
      if (value >= entry.peakValue) {
        entry.peakValue = value;
        entry.peak = finding.evidence.map((e) => ({ ...e }));
        entry.details = [...finding.details];
        if (finding.cause) entry.cause = finding.cause;
      }
    }
  }

  /** What fired within the remembered span before `now`, most recent first. */
  list(now: number): RecentFinding[] {
    for (const [incident, entry] of this.entries) {
      if (entry.lastAt < now - this.rememberMs) this.entries.delete(incident);
    }
    return [...this.entries.values()]
      .sort((a, b) => b.lastAt - a.lastAt)
      .map(({ peakValue: _peak, ...entry }) => entry);
  }
}
