// Where things are, for tests in any of test/unit, test/live and test/e2e.
import { accessSync, constants } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const ROOT = path.join(__dirname, '..', '..');
export const FIXTURES = path.join(ROOT, 'test', 'fixtures');
export const GOLDEN = path.join(ROOT, 'test', 'golden');
export const HELPERS = __dirname;
/** The built command line (npm run build:ts). */
export const CLI = path.join(ROOT, 'dist', 'src', 'cli', 'main.js');

/**
 * A directory for trees of many small files (fake /proc, /sys): tmpfs at
 * /dev/shm where there is one, since on a disk-backed /tmp each symlink
 * can cost milliseconds; the system's temporary directory otherwise.
 */
export function scratchDir(): string {
  try {
    accessSync('/dev/shm', constants.W_OK);
    return '/dev/shm';
  } catch {
    return tmpdir();
  }
}
