// Endpoints (family, address, port): one key format and one spelling for
// every map and message that names a listener or a socket's local side.
import { Family, type FamilyName } from '../diag';

export interface Endpoint {
  family: FamilyName;
  address: string;
  port: number;
}

export function familyName(family: number): FamilyName {
  return family === Family.Inet6 ? 'inet6' : 'inet';
}

export function familyNumber(name: FamilyName): Family {
  return name === 'inet6' ? Family.Inet6 : Family.Inet;
}

/** Map key of an endpoint: "family number|address|port". */
export function endpointKey(family: Family, address: string, port: number): string {
  return `${family}|${address}|${port}`;
}

export function keyOf(endpoint: Endpoint): string {
  return endpointKey(familyNumber(endpoint.family), endpoint.address, endpoint.port);
}

/** The key's parts; null for a string that is not such a key. */
export function parseEndpointKey(
  key: string,
): { family: Family; address: string; port: number } | null {
  const first = key.indexOf('|');
  const last = key.lastIndexOf('|');
  if (first <= 0 || last === first) return null;
  const family = Number(key.slice(0, first)) as Family;
  const port = Number(key.slice(last + 1));
  return { family, address: key.slice(first + 1, last), port };
}

/** As ss prints it: 0.0.0.0:80, [::]:80. */
export function formatEndpoint(endpoint: Endpoint): string {
  return endpoint.family === 'inet6'
    ? `[${endpoint.address}]:${endpoint.port}`
    : `${endpoint.address}:${endpoint.port}`;
}

const WILDCARDS = new Set(['0.0.0.0', '::']);

export function isWildcard(address: string): boolean {
  return WILDCARDS.has(address);
}
