// `npm run k8s`: writes deploy/kubernetes/*.yaml from the TypeScript
// beside this file. `--check` writes nothing and exits 1 when a committed
// manifest differs from what it generates.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { generate } from './generate';

// Compiled to dist/deploy/kubernetes/generator/main.js.
const OUT = path.resolve(__dirname, '..', '..', '..', '..', 'deploy', 'kubernetes');

function current(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

function main(): number {
  const check = process.argv.includes('--check');
  let stale = 0;
  for (const [name, content] of generate()) {
    const file = path.join(OUT, name);
    if (current(file) === content) continue;
    if (check) {
      stale++;
      console.error(`deploy/kubernetes/${name} is not what the generator writes: run npm run k8s`);
      continue;
    }
    writeFileSync(file, content);
    console.log(`wrote deploy/kubernetes/${name}`);
  }
  return stale === 0 ? 0 : 1;
}

process.exitCode = main();
