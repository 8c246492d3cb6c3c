// `npm run mixin`: writes every output of the mixin under grafana/ from the
// default configuration (config.ts), once the lint (lint/) finds nothing. `--check` writes nothing and exits 1
// when a committed file differs from what the mixin generates.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_CONFIG } from './config';
import { generate } from './generate';
import { lintOutputs } from './lint';

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
  const files = generate(DEFAULT_CONFIG);
  const problems = lintOutputs(files, DEFAULT_CONFIG.selector);
  if (problems.length > 0) {
    for (const problem of problems) console.error(problem);
    console.error(`${problems.length} lint problems: nothing written`);
    return 1;
  }
  let stale = 0;
  for (const [relative, content] of files) {
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
