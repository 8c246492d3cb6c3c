// Subject alternative names of a client certificate, for
// client_allowed_sans. exporter-toolkit compares each SAN of the
// certificate (DNS names, e-mail addresses, IP addresses, URIs) with the
// list by exact string equality; IP addresses in Go's spelling, so they are
// compared here as addresses (OpenSSL prints ::1 as 0:0:0:0:0:0:0:1).
import { isIP } from 'node:net';

export interface San {
  /** As Node prints it: DNS, email, IP Address, URI, othername... */
  kind: string;
  value: string;
}

/**
 * Splits X509Certificate#subjectAltName ("DNS:a, IP Address:1.2.3.4, ...").
 * Node quotes a value that contains a comma, a quote or a control
 * character as a JSON string, so a value cannot fake a second entry.
 */
export function sanList(text: string | undefined): San[] {
  const out: San[] = [];
  let at = 0;
  while (text && at < text.length) {
    const colon = text.indexOf(':', at);
    if (colon < 0) break;
    const kind = text.slice(at, colon);
    let end: number;
    let value: string;
    if (text[colon + 1] === '"') {
      end = colon + 2;
      while (end < text.length && text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      end++;
      try {
        value = JSON.parse(text.slice(colon + 1, end)) as string;
      } catch {
        break; // not Node's quoting: stop rather than guess
      }
    } else {
      const comma = text.indexOf(', ', colon + 1);
      end = comma < 0 ? text.length : comma;
      value = text.slice(colon + 1, end);
    }
    out.push({ kind, value });
    at = end + 2;
  }
  return out;
}

/** An IP address in one spelling per address (the URL parser compresses IPv6). */
function canonicalIp(ip: string): string | undefined {
  const family = isIP(ip);
  if (family === 4) return ip;
  if (family === 6) return new URL(`http://[${ip}]/`).hostname.slice(1, -1);
  return undefined;
}

/** How a SAN reads in a log line: IP addresses as Go prints them (::1). */
export function sanText(san: San): string {
  return san.kind === 'IP Address' ? (canonicalIp(san.value) ?? san.value) : san.value;
}

export function allowedSan(san: San, allowed: readonly string[]): boolean {
  if (san.kind === 'IP Address') {
    const ip = canonicalIp(san.value);
    return ip !== undefined && allowed.some((entry) => canonicalIp(entry) === ip);
  }
  if (san.kind === 'DNS' || san.kind === 'email' || san.kind === 'URI') {
    return allowed.includes(san.value);
  }
  return false;
}
