// `npm run mixin`: writes every output of the mixin under grafana/ from the
// default configuration (config.ts), once the lint (lint/) finds nothing. `--check` writes nothing and exits 1
// when a committed file differs from what the mixin generates.
import path from 'node:path';
import { DEFAULT_CONFIG } from './config';
import { generate } from './generate';
import { lintOutputs } from './lint';
import { writeOutputs } from './outputs';

const GRAFANA = path.resolve(__dirname, '..', '..', '..', 'grafana');

function main(): number {
  const check = process.argv.includes('--check');
  const files = generate(DEFAULT_CONFIG);
  const problems = lintOutputs(files, DEFAULT_CONFIG.selector);
  if (problems.length > 0) {
    for (const problem of problems) console.error(problem);
    console.error(`${problems.length} lint problems: nothing written`);
    return 1;
  }
  const stale = writeOutputs(GRAFANA, 'grafana', files, check, 'npm run mixin');
  return stale === 0 ? 0 : 1;
}

process.exitCode = main();
