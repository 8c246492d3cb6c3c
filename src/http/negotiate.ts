// Content negotiation with quality values (RFC 9110, sections 12.4.2 and
// 12.5): `Accept: application/openmetrics-text;q=0` refuses OpenMetrics,
// and `Accept-Encoding: gzip;q=0` refuses gzip. A substring test would
// hand both to a client that asked not to get them.

interface Preference {
  /** Lower-cased media type ("text/plain", "application/*", "*\/*") or coding ("gzip", "*"). */
  value: string;
  q: number;
}

/** The q parameter's value: 0 to 1 with at most three decimals; anything else is 1, as if absent. */
function quality(params: string[]): number {
  for (const param of params) {
    const [name, value] = param.split('=').map((part) => part.trim());
    if (name?.toLowerCase() !== 'q' || value === undefined) continue;
    if (!/^(0(\.\d{0,3})?|1(\.0{0,3})?)$/.test(value)) return 1;
    return Number(value);
  }
  return 1;
}

/** The header's elements in order; empty for an absent or blank header. */
export function parsePreferences(header: string | undefined): Preference[] {
  if (!header) return [];
  const out: Preference[] = [];
  for (const element of header.split(',')) {
    const [value = '', ...params] = element.split(';').map((part) => part.trim());
    if (value === '') continue;
    out.push({ value: value.toLowerCase(), q: quality(params) });
  }
  return out;
}

/**
 * How much the client wants `mediaType` (e.g. "text/plain"): the q of the
 * most specific range that matches it (the type itself, then type/*, then
 * *\/*), the highest when a range appears more than once (OpenMetrics is
 * often listed once per version); 0 when nothing matches.
 */
export function mediaQuality(preferences: Preference[], mediaType: string): number {
  const [type] = mediaType.split('/');
  for (const candidate of [mediaType, `${type}/*`, '*/*']) {
    const matches = preferences.filter((p) => p.value === candidate);
    if (matches.length > 0) return Math.max(...matches.map((p) => p.q));
  }
  return 0;
}

/** How much the client accepts content coding `coding` ("gzip"): its own q, else that of "*", else 0. */
export function codingQuality(preferences: Preference[], coding: string): number {
  for (const candidate of [coding, '*']) {
    const matches = preferences.filter((p) => p.value === candidate);
    if (matches.length > 0) return Math.max(...matches.map((p) => p.q));
  }
  return 0;
}
