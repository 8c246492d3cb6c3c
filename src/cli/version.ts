import { readFileSync } from 'node:fs';
import path from 'node:path';

/** The version in the package.json of this package, found upward from here (src/ or dist/src/). */
function readVersion(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
      if (pkg.name === 'sockdiag-exporter') return String(pkg.version);
    } catch {
      // not here: look one folder up
    }
    if (path.dirname(dir) === dir) return 'unknown';
  }
}

export const VERSION = readVersion();
