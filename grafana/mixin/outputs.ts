// Generated files written under a folder, or with `check` compared only:
// shared by `npm run mixin` and `npm run k8s`. Returns how many committed
// files differ from what was generated (0: all current).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

function current(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

/**
 * @param root the folder the relative names are under
 * @param shown how the folder is named in messages ("grafana")
 * @param command what regenerates the files ("npm run mixin")
 */
export function writeOutputs(
  root: string,
  shown: string,
  files: Iterable<[string, string]>,
  check: boolean,
  command: string,
): number {
  let stale = 0;
  for (const [relative, content] of files) {
    const file = path.join(root, relative);
    if (current(file) === content) continue;
    if (check) {
      stale++;
      console.error(`${shown}/${relative} is not what the generator writes: run ${command}`);
      continue;
    }
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, content);
    console.log(`wrote ${shown}/${relative}`);
  }
  return stale;
}
