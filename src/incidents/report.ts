// The doctor's report: what fired now (in the order to act) with its cause,
// evidence and remedy; what is informational; what fired recently and is
// quiet now; what is healthy; and what could not be looked at, and why.
// "Healthy" is only said of checks that could look.
import type { Finding, RecentFinding } from './types';

function formatValue(value: number): string {
  if (Number.isInteger(value)) return String(value);
  return value >= 100 ? value.toFixed(0) : value.toPrecision(3);
}

function clock(at: number): string {
  return new Date(at).toISOString().slice(11, 19);
}

function evidenceLine(evidence: Finding['evidence']): string {
  return evidence.map((e) => `${e.name} = ${formatValue(e.value)} ${e.unit}`).join('; ');
}

function firedLines(finding: Finding, index: number): string[] {
  const lines = ['', `${index + 1}. ${finding.incident} [${finding.severity}]: ${finding.title}`];
  if (finding.cause) lines.push(`   cause: ${finding.cause}`);
  for (const detail of finding.details) lines.push(`   - ${detail}`);
  if (finding.evidence.length > 0) lines.push(`   evidence: ${evidenceLine(finding.evidence)}`);
  lines.push(`   remedy: ${finding.remedy}`);
  return lines;
}

function recentLines(recent: RecentFinding): string[] {
  const times =
    recent.times === 1 ? 'once' : `${recent.times} times since ${clock(recent.firstAt)}`;
  const lines = [
    `- ${recent.incident} [${recent.severity}], last at ${clock(recent.lastAt)} UTC (${times})`,
  ];
  if (recent.cause) lines.push(`  cause: ${recent.cause}`);
  for (const detail of recent.details.slice(0, 5)) lines.push(`  - ${detail}`);
  if (recent.peak.length > 0) lines.push(`  at its peak: ${evidenceLine(recent.peak)}`);
  return lines;
}

/** The other namespaces (the netns collector): their findings, or why none could be read. */
export interface NamespaceSection {
  scraped: NamespaceReport[];
  /** The collector failed (a missing capability): nothing beyond the own namespace was seen. */
  error?: string;
}

/** Another namespace's findings, for the report's per-namespace part. */
export interface NamespaceReport {
  netns: string;
  podUid?: string;
  containerId?: string;
  findings: Finding[];
  recent: RecentFinding[];
}

function namespaceTitle(ns: NamespaceReport): string {
  // Operators think in pods and containers; the namespace is how to get in.
  const container = ns.containerId ? `container ${ns.containerId.slice(0, 12)}` : '';
  if (ns.podUid) {
    return `pod ${ns.podUid} (${[container, `netns ${ns.netns}`].filter(Boolean).join(', ')})`;
  }
  return container ? `${container} (netns ${ns.netns})` : `namespace ${ns.netns}`;
}

function namespaceLines(section: NamespaceSection | undefined): string[] {
  if (section?.error) return ['', `other namespaces: not looked at: ${section.error}`];
  const namespaces = section?.scraped ?? [];
  if (namespaces.length === 0) return [];
  const firing = namespaces.filter((ns) => ns.findings.some((f) => f.fired));
  const lines = [
    '',
    `other namespaces: ${namespaces.length} scraped, ${firing.length} with an incident`,
  ];
  for (const ns of firing) {
    const fired = ns.findings.filter((f) => f.fired).sort((a, b) => a.priority - b.priority);
    lines.push('', `${namespaceTitle(ns)}: ${fired.length} incident${fired.length > 1 ? 's' : ''}`);
    fired.forEach((finding, index) =>
      lines.push(
        ...firedLines(finding, index)
          .slice(1)
          .map((l) => `  ${l}`),
      ),
    );
  }
  const earlier = namespaces.filter((ns) => !firing.includes(ns) && ns.recent.length > 0);
  for (const ns of earlier) {
    lines.push('', `${namespaceTitle(ns)}: recently fired, quiet now:`);
    for (const entry of ns.recent) lines.push(...recentLines(entry).map((l) => `  ${l}`));
  }
  return lines;
}

export function renderText(
  findings: Finding[],
  recent: RecentFinding[] = [],
  notes: string[] = [],
  section?: NamespaceSection,
): string {
  const namespaces = section?.scraped ?? [];
  const ordered = [...findings].sort((a, b) => a.priority - b.priority);
  const fired = ordered.filter((f) => f.fired);
  const notices = ordered.filter((f) => !f.fired && f.notice);
  const quiet = ordered.filter((f) => !f.fired && f.evaluated);
  const blind = ordered.filter((f) => !f.evaluated);
  const firing = new Set(fired.map((f) => f.incident));
  const earlier = recent.filter((r) => !firing.has(r.incident));
  const lines: string[] = [];
  if (fired.length > 0) {
    lines.push(
      `sockdiag doctor: ${fired.length} incident${fired.length > 1 ? 's' : ''} detected, most urgent first`,
    );
  } else {
    lines.push(
      blind.length > 0
        ? `sockdiag doctor: no incident detected, but ${blind.length} check${blind.length > 1 ? 's' : ''} could not look (below)`
        : 'sockdiag doctor: no incident detected',
    );
  }
  const elsewhere = namespaces.filter((ns) => ns.findings.some((f) => f.fired)).length;
  if (elsewhere > 0) {
    lines[0] += `; ${elsewhere} other namespace${elsewhere > 1 ? 's' : ''} with an incident (below)`;
  }
  if (section?.error) lines[0] += '; other namespaces could not be looked at (below)';
  fired.forEach((finding, index) => lines.push(...firedLines(finding, index)));
  for (const finding of notices) {
    lines.push('', `informational: ${finding.incident}: ${finding.cause ?? finding.title}`);
    for (const detail of finding.details) lines.push(`   - ${detail}`);
  }
  if (earlier.length > 0) {
    lines.push('', 'recently fired, quiet now:');
    for (const entry of earlier) lines.push(...recentLines(entry));
  }
  if (quiet.length > 0) lines.push('', `healthy: ${quiet.map((f) => f.incident).join(', ')}`);
  for (const finding of blind) {
    lines.push(`no opinion: ${finding.incident} (${finding.reason ?? 'not enough data'})`);
  }
  lines.push(...namespaceLines(section));
  if (notes.length > 0) lines.push('', 'notes:', ...notes.map((note) => `- ${note}`));
  return `${lines.join('\n')}\n`;
}

export interface JsonReport {
  /** Nothing fired and every check could look. */
  healthy: boolean;
  /** incident: something fired; incomplete: nothing fired but some checks could not look. */
  status: 'incident' | 'healthy' | 'incomplete';
  findings: Finding[];
  recent: RecentFinding[];
  /** Why parts of the findings may be missing (owner labels...). */
  notes: string[];
  /** The other namespaces (with the netns collector), each with its own status. */
  namespaces: (NamespaceReport & { status: JsonReport['status'] })[];
  /** Why the other namespaces could not be looked at (then status is at best incomplete). */
  namespacesError?: string;
}

function statusOf(findings: Finding[]): JsonReport['status'] {
  if (findings.some((f) => f.fired)) return 'incident';
  return findings.some((f) => !f.evaluated) ? 'incomplete' : 'healthy';
}

export function renderJson(
  findings: Finding[],
  recent: RecentFinding[] = [],
  notes: string[] = [],
  section?: NamespaceSection,
): JsonReport {
  const namespaces = section?.scraped ?? [];
  const sorted = [...findings].sort(
    (a, b) => Number(b.fired) - Number(a.fired) || a.priority - b.priority,
  );
  const fired = findings.some((f) => f.fired);
  const blind = findings.some((f) => !f.evaluated) || section?.error !== undefined;
  const status = fired ? 'incident' : blind ? 'incomplete' : 'healthy';
  return {
    healthy: status === 'healthy',
    status,
    findings: sorted,
    recent,
    notes,
    namespaces: namespaces.map((ns) => ({ ...ns, status: statusOf(ns.findings) })),
    ...(section?.error ? { namespacesError: section.error } : {}),
  };
}
