// `npm run mixin`: writes every output of the mixin under grafana/ from the
// default configuration (config.ts). `--check` writes nothing and exits 1
// when a committed file differs from what the mixin generates.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_CONFIG } from './config';
import { generate } from './generate';

const GRAFANA = path.resolve(__dirname, '..', '..', '..', 'grafana');

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
  for (const [relative, content] of generate(DEFAULT_CONFIG)) {
    const file = path.join(GRAFANA, relative);
    if (current(file) === content) continue;
    if (check) {
      stale++;
      console.error(`grafana/${relative} is not what the mixin generates: run npm run mixin`);
      continue;
    }
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, content);
    console.log(`wrote grafana/${relative}`);
  }
  return stale === 0 ? 0 : 1;
}

process.exitCode = main();
