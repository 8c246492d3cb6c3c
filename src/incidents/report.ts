// The doctor's report: what fired (in the order to act), its evidence and
// remedy; then what is healthy and what has no opinion yet.
import type { Finding } from './types';

function formatValue(value: number): string {
  if (Number.isInteger(value)) return String(value);
  return value >= 100 ? value.toFixed(0) : value.toPrecision(3);
}

export function renderText(findings: Finding[]): string {
  const ordered = [...findings].sort((a, b) => a.priority - b.priority);
  const fired = ordered.filter((f) => f.fired);
  const quiet = ordered.filter((f) => !f.fired && f.evaluated);
  const pending = ordered.filter((f) => !f.fired && !f.evaluated);
  const lines: string[] = [];
  lines.push(
    fired.length === 0
      ? 'sockdiag doctor: no incident detected'
      : `sockdiag doctor: ${fired.length} incident${fired.length > 1 ? 's' : ''} detected, most urgent first`,
  );
  fired.forEach((finding, index) => {
    lines.push('', `${index + 1}. ${finding.incident}: ${finding.title}`);
    for (const detail of finding.details) lines.push(`   - ${detail}`);
    const evidence = finding.evidence.map((e) => `${e.name} = ${formatValue(e.value)} ${e.unit}`);
    if (evidence.length > 0) lines.push(`   evidence: ${evidence.join('; ')}`);
    lines.push(`   remedy: ${finding.remedy}`);
  });
  if (quiet.length > 0) lines.push('', `healthy: ${quiet.map((f) => f.incident).join(', ')}`);
  for (const finding of pending) {
    lines.push(`no opinion yet: ${finding.incident} (${finding.reason ?? 'not enough data'})`);
  }
  return `${lines.join('\n')}\n`;
}

export function renderJson(findings: Finding[]): {
  healthy: boolean;
  findings: Finding[];
} {
  const sorted = [...findings].sort(
    (a, b) => Number(b.fired) - Number(a.fired) || a.priority - b.priority,
  );
  return { healthy: !findings.some((f) => f.fired), findings: sorted };
}
