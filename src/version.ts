import { readFileSync } from 'node:fs';
import path from 'node:path';

function readVersion(): string {
  for (const up of ['..', '../..']) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(__dirname, up, 'package.json'), 'utf8'));
      if (pkg.name === 'sockdiag-exporter') return String(pkg.version);
    } catch {
      // try the next candidate (src/ or dist/src/)
    }
  }
  return 'unknown';
}

export const VERSION = readVersion();
