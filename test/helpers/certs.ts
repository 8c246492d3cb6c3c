// Certificates for the TLS tests, made with openssl in a temporary
// directory: a CA, a server certificate for 127.0.0.1, client certificates
// with chosen SANs, and a second CA nobody trusts.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface Pair {
  cert: string;
  key: string;
}

export class TestCertificates {
  readonly dir = mkdtempSync(path.join(tmpdir(), 'sockdiag-certs-'));

  /** `command`: openssl's arguments separated by spaces (none has one). */
  private openssl(command: string): void {
    execFileSync('openssl', command.split(' '), { cwd: this.dir, stdio: 'pipe' });
  }

  file(name: string): string {
    return path.join(this.dir, name);
  }

  read(name: string): Buffer {
    return readFileSync(this.file(name));
  }

  /** A self-signed CA: NAME.crt, NAME.key. */
  ca(name: string): Pair {
    this.openssl(
      `req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=${name} ` +
        `-keyout ${name}.key -out ${name}.crt -addext basicConstraints=critical,CA:TRUE ` +
        '-addext keyUsage=critical,keyCertSign',
    );
    return { cert: this.file(`${name}.crt`), key: this.file(`${name}.key`) };
  }

  /** A leaf signed by `ca`, with subjectAltName `sans` ("DNS:a,IP:127.0.0.1"). */
  leaf(name: string, ca: string, sans: string, usage: 'serverAuth' | 'clientAuth'): Pair {
    this.openssl(
      `req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=${name} ` +
        `-keyout ${name}.key -out ${name}.csr`,
    );
    writeFileSync(
      this.file(`${name}.ext`),
      `subjectAltName=${sans}\nextendedKeyUsage=${usage}\nbasicConstraints=CA:FALSE\n`,
    );
    this.openssl(
      `x509 -req -in ${name}.csr -CA ${ca}.crt -CAkey ${ca}.key -CAcreateserial -days 2 ` +
        `-extfile ${name}.ext -out ${name}.crt`,
    );
    return { cert: this.file(`${name}.crt`), key: this.file(`${name}.key`) };
  }

  /** The usual set: ca, server, client (SAN DNS:prometheus), other (SAN DNS:stranger), rogue-ca and rogue (signed by it). */
  static standard(): TestCertificates {
    const certs = new TestCertificates();
    certs.ca('ca');
    certs.leaf('server', 'ca', 'IP:127.0.0.1,DNS:localhost', 'serverAuth');
    certs.leaf('client', 'ca', 'DNS:prometheus,URI:spiffe://example.org/prometheus', 'clientAuth');
    certs.leaf('other', 'ca', 'DNS:stranger,IP:::1', 'clientAuth');
    certs.ca('rogue-ca');
    certs.leaf('rogue', 'rogue-ca', 'DNS:prometheus', 'clientAuth');
    return certs;
  }
}
