// Before a run: what must exist (dist/, the addon, node_exporter, ss, the C
// tools) and the snapshot of the code to measure.
'use strict';

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { setTimeout: sleep } = require('node:timers/promises');

/** A failure the harness explains in one line (no stack): missing root, tools or files. */
class BenchError extends Error {
  constructor(message) {
    super(message);
    this.name = 'BenchError';
    this.code = 'ERR_BENCH';
  }
}

const BENCH_DIR = path.join(__dirname, '..');
const ROOT = path.join(BENCH_DIR, '..');
const ADDON = path.join('build', 'Release', 'sockdiag.node');

/** Runs a command with inherited output; throws if it fails. */
function step(command, args, options = {}) {
  // Output to stderr: stdout carries only the report.
  const result = spawnSync(command, args, { stdio: ['ignore', 2, 2], cwd: ROOT, ...options });
  if (result.error) throw result.error;
  if (result.status !== 0)
    throw new Error(`${command} ${args.join(' ')} exited ${result.status ?? result.signal}`);
}

const executable = (file) => {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/**
 * Builds only what is missing (others use dist/ and build/ concurrently),
 * installs Debian's node_exporter when the default one is absent and the run
 * needs it, and compiles bench/bin/ (table.sh build).
 */
function prerequisites({ nodeExporter, defaultNodeExporter, needsNodeExporter }) {
  const exists = (file) => fs.existsSync(path.join(ROOT, file));
  if (!exists('dist/src/cli/main.js') || !exists('dist/src/diag/index.js')) {
    process.stderr.write('# building dist/ (npx tsc -p tsconfig.build.json)\n');
    step('npx', ['tsc', '-p', 'tsconfig.build.json']);
  }
  if (!exists(ADDON)) {
    process.stderr.write('# building the addon (npx node-gyp rebuild)\n');
    step('npx', ['node-gyp', 'rebuild']);
  }
  if (needsNodeExporter && !executable(nodeExporter)) {
    if (nodeExporter !== defaultNodeExporter)
      throw new BenchError(`--node-exporter ${nodeExporter} is not an executable file`);
    process.stderr.write('# installing prometheus-node-exporter\n');
    step('apt-get', ['update']);
    step('apt-get', ['install', '-y', 'prometheus-node-exporter'], {
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    if (!executable(nodeExporter)) throw new BenchError(`no ${nodeExporter} after apt-get install`);
    // Debian starts the service on the host; the benchmark runs its own.
    spawnSync('systemctl', ['disable', '--now', 'prometheus-node-exporter'], { stdio: 'ignore' });
  }
  if (spawnSync('ss', ['-V'], { stdio: 'ignore' }).status !== 0)
    throw new BenchError('ss (iproute2) is not installed');
  step('bash', [path.join(BENCH_DIR, 'table.sh'), 'build']);
}

function newestBuildFile() {
  let newest = fs.statSync(path.join(ROOT, ADDON)).mtimeMs;
  const dist = path.join(ROOT, 'dist', 'src');
  for (const entry of fs.readdirSync(dist, { withFileTypes: true, recursive: true })) {
    if (entry.isFile())
      newest = Math.max(
        newest,
        fs.statSync(path.join(entry.parentPath ?? entry.path, entry.name)).mtimeMs,
      );
  }
  return newest;
}

/**
 * Copies dist/src, the addon, package.json and binding.gyp (the addon
 * loader looks for it) to a temporary directory, with node_modules linked
 * to ours: others rebuild dist/ while they work (npm test does), so a run
 * measures the code as it was at the start, and records its hash. Retries
 * until the build files are 2 s old and did not change during the copy.
 * Returns the directory; the caller removes it.
 */
async function snapshotCode() {
  const code = fs.mkdtempSync(path.join(os.tmpdir(), 'sockdiag-bench-code.'));
  const copy = (from, to) =>
    fs.cpSync(path.join(ROOT, from), path.join(code, to ?? from), {
      recursive: true,
      preserveTimestamps: true,
    });
  for (let tries = 0; tries < 30; tries++) {
    const before = newestBuildFile();
    if (Date.now() - before >= 2000) {
      fs.rmSync(path.join(code, 'dist'), { recursive: true, force: true });
      copy('dist/src');
      copy(ADDON);
      copy('package.json');
      copy('binding.gyp');
      if (!fs.existsSync(path.join(code, 'node_modules')))
        fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(code, 'node_modules'));
      if (newestBuildFile() === before) return code;
    }
    await sleep(2000);
  }
  fs.rmSync(code, { recursive: true, force: true });
  throw new BenchError('dist/ or the addon kept changing for a minute; try again later');
}

module.exports = { BENCH_DIR, BenchError, ROOT, prerequisites, snapshotCode };
