// Where things are, for tests in any of test/unit, test/live and test/e2e.
import path from 'node:path';

export const ROOT = path.join(__dirname, '..', '..');
export const FIXTURES = path.join(ROOT, 'test', 'fixtures');
export const GOLDEN = path.join(ROOT, 'test', 'golden');
export const HELPERS = __dirname;
/** The built command line (npm run build:ts). */
export const CLI = path.join(ROOT, 'dist', 'src', 'cli', 'main.js');
