// `npm run k8s`: writes deploy/kubernetes/*.yaml from the TypeScript
// beside this file. `--check` writes nothing and exits 1 when a committed
// manifest differs from what it generates.
import path from 'node:path';
import { writeOutputs } from '../../../grafana/mixin/outputs';
import { generate } from './generate';

// Compiled to dist/deploy/kubernetes/generator/main.js.
const OUT = path.resolve(__dirname, '..', '..', '..', '..', 'deploy', 'kubernetes');

function main(): number {
  const check = process.argv.includes('--check');
  const stale = writeOutputs(OUT, 'deploy/kubernetes', generate(), check, 'npm run k8s');
  return stale === 0 ? 0 : 1;
}

process.exitCode = main();
