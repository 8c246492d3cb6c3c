// tls_server_config of --web.config.file, as exporter-toolkit documents it
// (docs/web-configuration.md there), mapped onto Node's TLS server:
//
//   cert_file/key_file or cert/key   the server's certificate and key
//   client_auth_type                 NoClientCert (default), RequestClientCert,
//                                    RequireAnyClientCert, VerifyClientCertIfGiven,
//                                    RequireAndVerifyClientCert (Go's tls.ClientAuthType)
//   client_ca_file or client_ca      CAs that verify client certificates
//   client_allowed_sans              the client certificate must carry one of these SANs
//   min_version/max_version          TLS10..TLS13 (default TLS12..TLS13)
//   cipher_suites                    Go's names, for TLS 1.2 and below
//   curve_preferences                CurveP256, CurveP384, CurveP521, X25519
//   prefer_server_cipher_suites      default true
import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { createSecureContext, type SecureContextOptions, type TLSSocket } from 'node:tls';
import {
  fail,
  mapping,
  optionalBoolean,
  optionalString,
  readNamedFile,
  resolveRelative,
  stringList,
} from './config-file';
import { allowedSan, sanList, sanText } from './sans';

export const CLIENT_AUTH_TYPES = [
  'NoClientCert',
  'RequestClientCert',
  'RequireAnyClientCert',
  'VerifyClientCertIfGiven',
  'RequireAndVerifyClientCert',
] as const;
export type ClientAuthType = (typeof CLIENT_AUTH_TYPES)[number];

export interface TlsSettings {
  /** What server.setSecureContext takes: certificate, key, CAs, versions, ciphers, curves. */
  context: SecureContextOptions;
  clientAuth: ClientAuthType;
  allowedSans?: string[];
}

const KEYS = [
  'cert',
  'key',
  'client_ca',
  'cert_file',
  'key_file',
  'client_auth_type',
  'client_ca_file',
  'client_allowed_sans',
  'min_version',
  'max_version',
  'cipher_suites',
  'prefer_server_cipher_suites',
  'curve_preferences',
] as const;

const VERSIONS = { TLS10: 'TLSv1', TLS11: 'TLSv1.1', TLS12: 'TLSv1.2', TLS13: 'TLSv1.3' } as const;
type VersionName = keyof typeof VERSIONS;

/**
 * Go's crypto/tls.CipherSuites() by name, with OpenSSL's name for each.
 * The TLS 1.3 suites are accepted and, as in Go, do not restrict anything:
 * TLS 1.3 suites are not configurable there.
 */
const CIPHERS: Record<string, string | null> = {
  TLS_AES_128_GCM_SHA256: null,
  TLS_AES_256_GCM_SHA384: null,
  TLS_CHACHA20_POLY1305_SHA256: null,
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: 'ECDHE-ECDSA-AES128-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: 'ECDHE-ECDSA-AES256-SHA',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: 'ECDHE-RSA-AES128-SHA',
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: 'ECDHE-RSA-AES256-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: 'ECDHE-ECDSA-AES128-GCM-SHA256',
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: 'ECDHE-ECDSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: 'ECDHE-RSA-AES128-GCM-SHA256',
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: 'ECDHE-RSA-AES256-GCM-SHA384',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-ECDSA-CHACHA20-POLY1305',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-RSA-CHACHA20-POLY1305',
};

/** exporter-toolkit's curve names, with OpenSSL's group names. */
const CURVES: Record<string, string> = {
  CurveP256: 'P-256',
  CurveP384: 'P-384',
  CurveP521: 'P-521',
  X25519: 'X25519',
};

const where = (key: string) => `tls_server_config.${key}`;

/** PEM text given inline (`cert`) or by file (`cert_file`), never both; with the name to blame. */
function material(
  file: string,
  tls: Record<string, unknown>,
  inline: string,
  named: string,
): { pem: Buffer; source: string } | undefined {
  const text = optionalString(file, where(inline), tls[inline]);
  const path = optionalString(file, where(named), tls[named]);
  if (text && path) fail(file, `give ${where(inline)} or ${where(named)}, not both`);
  if (path)
    return {
      pem: readNamedFile(file, where(named), path),
      source: `${where(named)} ${resolveRelative(file, path)}`,
    };
  if (text) return { pem: Buffer.from(text), source: where(inline) };
  return undefined;
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----/;
const PEM_PRIVATE_KEY = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/;

/** The certificate and key, checked the way a person would: which file holds what, and whether they pair. */
function checkKeyPair(
  file: string,
  cert: { pem: Buffer; source: string },
  key: { pem: Buffer; source: string },
): void {
  const certText = cert.pem.toString('latin1');
  const keyText = key.pem.toString('latin1');
  if (
    !PEM_CERTIFICATE.test(certText) &&
    PEM_PRIVATE_KEY.test(certText) &&
    PEM_CERTIFICATE.test(keyText)
  ) {
    fail(
      file,
      `${cert.source} holds a private key and ${key.source} a certificate: cert_file and key_file are swapped`,
    );
  }
  if (!PEM_CERTIFICATE.test(certText))
    fail(file, `${cert.source} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  if (!PEM_PRIVATE_KEY.test(keyText))
    fail(file, `${key.source} holds no PEM private key (-----BEGIN PRIVATE KEY-----)`);
  let certificate: X509Certificate;
  let privateKey: KeyObject;
  try {
    certificate = new X509Certificate(cert.pem);
  } catch (error) {
    fail(file, `${cert.source} is not a valid certificate: ${(error as Error).message}`);
  }
  try {
    privateKey = createPrivateKey(key.pem);
  } catch (error) {
    const reason = (error as Error).message;
    fail(
      file,
      `${key.source} is not a usable private key (an encrypted key is not supported): ${reason}`,
    );
  }
  if (!certificate.checkPrivateKey(privateKey)) {
    fail(
      file,
      `${key.source} is not the key of the certificate in ${cert.source} (their public keys differ)`,
    );
  }
}

function checkCertificates(file: string, ca: { pem: Buffer; source: string }): void {
  const blocks = ca.pem
    .toString('latin1')
    .match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g);
  if (!blocks) fail(file, `${ca.source} holds no PEM certificate`);
  for (const block of blocks) {
    try {
      new X509Certificate(block);
    } catch (error) {
      fail(file, `${ca.source} holds an invalid certificate: ${(error as Error).message}`);
    }
  }
}

function version(file: string, key: string, value: unknown, fallback: VersionName): VersionName {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'string' || !(value in VERSIONS)) {
    fail(
      file,
      `unknown TLS version ${JSON.stringify(value)} in ${where(key)} (one of ${Object.keys(VERSIONS).join(', ')})`,
    );
  }
  return value as VersionName;
}

function names(
  file: string,
  key: string,
  value: unknown,
  known: Record<string, unknown>,
  what: string,
): string[] {
  const list = stringList(file, where(key), value) ?? [];
  const unknown = list.filter((name) => !(name in known));
  if (unknown.length > 0)
    fail(
      file,
      `unknown ${what} ${unknown.join(', ')} in ${where(key)} (known: ${Object.keys(known).join(', ')})`,
    );
  return list;
}

function clientAuth(file: string, value: unknown): ClientAuthType {
  const text = optionalString(file, where('client_auth_type'), value) ?? 'NoClientCert';
  if (text === '') return 'NoClientCert';
  if (text === 'RequireClientCert') return 'RequireAnyClientCert'; // exporter-toolkit's old spelling
  if (!(CLIENT_AUTH_TYPES as readonly string[]).includes(text)) {
    fail(
      file,
      `invalid ${where('client_auth_type')} ${JSON.stringify(text)} (one of ${CLIENT_AUTH_TYPES.join(', ')})`,
    );
  }
  return text as ClientAuthType;
}

/** Parses and loads tls_server_config; throws WebConfigError naming the key or file at fault. */
export function parseTls(file: string, raw: unknown): TlsSettings {
  const tls = mapping(file, 'tls_server_config', raw, KEYS);
  const cert = material(file, tls, 'cert', 'cert_file');
  const key = material(file, tls, 'key', 'key_file');
  if (!cert) fail(file, `${where('cert_file')} (or cert) is missing`);
  if (!key) fail(file, `${where('key_file')} (or key) is missing`);
  checkKeyPair(file, cert, key);
  const ca = material(file, tls, 'client_ca', 'client_ca_file');
  if (ca) checkCertificates(file, ca);
  const auth = clientAuth(file, tls.client_auth_type);
  if (ca && auth === 'NoClientCert') {
    fail(
      file,
      `client CAs are configured without a client_auth_type: set RequireAndVerifyClientCert`,
    );
  }
  const allowedSans = stringList(file, where('client_allowed_sans'), tls.client_allowed_sans);
  if (allowedSans && auth === 'NoClientCert') {
    fail(
      file,
      `${where('client_allowed_sans')} needs a client_auth_type that asks for a certificate`,
    );
  }
  const min = version(file, 'min_version', tls.min_version, 'TLS12');
  const max = version(file, 'max_version', tls.max_version, 'TLS13');
  const order = Object.keys(VERSIONS);
  if (order.indexOf(min) > order.indexOf(max))
    fail(file, `min_version ${min} is above max_version ${max}`);
  const ciphers = names(file, 'cipher_suites', tls.cipher_suites, CIPHERS, 'cipher suite')
    .map((name) => CIPHERS[name])
    .filter((name): name is string => typeof name === 'string');
  const curves = names(file, 'curve_preferences', tls.curve_preferences, CURVES, 'curve').map(
    (name) => CURVES[name]!,
  );
  const context: SecureContextOptions = {
    cert: cert.pem,
    key: key.pem,
    minVersion: VERSIONS[min],
    maxVersion: VERSIONS[max],
    honorCipherOrder:
      optionalBoolean(
        file,
        where('prefer_server_cipher_suites'),
        tls.prefer_server_cipher_suites,
      ) ?? true,
  };
  if (ca) context.ca = ca.pem;
  if (ciphers.length > 0) context.ciphers = ciphers.join(':');
  if (curves.length > 0) context.ecdhCurve = curves.join(':');
  try {
    createSecureContext(context);
  } catch (error) {
    fail(file, `tls_server_config does not load: ${(error as Error).message}`);
  }
  return { context, clientAuth: auth, ...(allowedSans ? { allowedSans } : {}) };
}

/** The server-wide verification switches for a client_auth_type. */
export function verifyMode(settings: TlsSettings): {
  requestCert: boolean;
  rejectUnauthorized: boolean;
} {
  return {
    requestCert: settings.clientAuth !== 'NoClientCert',
    rejectUnauthorized: settings.clientAuth === 'RequireAndVerifyClientCert',
  };
}

/**
 * Why a connection that finished its handshake may not go on, or
 * undefined. Node verifies the chain; what each client_auth_type asks
 * beyond that, and client_allowed_sans, are checked here.
 */
export function clientCertificateProblem(
  socket: TLSSocket,
  settings: TlsSettings,
): string | undefined {
  const certificate = socket.getPeerX509Certificate();
  const unverified = () => `client certificate not verified: ${String(socket.authorizationError)}`;
  switch (settings.clientAuth) {
    case 'NoClientCert':
    case 'RequestClientCert':
      break;
    case 'RequireAnyClientCert':
      if (!certificate) return 'no client certificate';
      break;
    case 'VerifyClientCertIfGiven':
      if (certificate && !socket.authorized) return unverified();
      break;
    case 'RequireAndVerifyClientCert':
      if (!certificate) return 'no client certificate';
      if (!socket.authorized) return unverified();
      break;
  }
  if (!settings.allowedSans) return undefined;
  if (!certificate) return 'no client certificate to match client_allowed_sans';
  const sans = sanList(certificate.subjectAltName);
  if (sans.some((san) => allowedSan(san, settings.allowedSans!))) return undefined;
  return `client certificate has none of client_allowed_sans (it has: ${sans.map(sanText).join(', ') || 'no SAN'})`;
}
