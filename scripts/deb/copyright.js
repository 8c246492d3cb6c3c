// Writes the Debian copyright file to stdout: the project's own notice, then
// one line per bundled Node.js module (name, version, license, where its
// license text is), read from the node_modules tree the package ships.
// Usage: node copyright.js <head file> <app dir> <app dir as installed>
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const [headFile, appDir, installedDir] = process.argv.slice(2);
if (!headFile || !appDir || !installedDir) {
  console.error('usage: node copyright.js <head file> <app dir> <app dir as installed>');
  process.exit(2);
}

/** Every package directory under node_modules, nested ones and @scopes included. */
function packageDirs(modules) {
  if (!fs.existsSync(modules)) return [];
  const dirs = [];
  for (const entry of fs.readdirSync(modules, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
    const dir = path.join(modules, entry.name);
    const inner = entry.name.startsWith('@')
      ? fs.readdirSync(dir).map((n) => path.join(dir, n))
      : [dir];
    for (const pkg of inner) {
      if (!fs.existsSync(path.join(pkg, 'package.json'))) continue;
      dirs.push(pkg, ...packageDirs(path.join(pkg, 'node_modules')));
    }
  }
  return dirs;
}

function describe(dir) {
  const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
  const license = typeof pkg.license === 'string' ? pkg.license : 'see its license file';
  const file = fs.readdirSync(dir).find((name) => /^(licen[cs]e|copying)/i.test(name));
  const where = file
    ? path.join(installedDir, path.relative(appDir, dir), file)
    : 'no license file shipped; see the package.json';
  return ` ${pkg.name} ${pkg.version}: ${license}\n   ${where}`;
}

const modules = packageDirs(path.join(appDir, 'node_modules')).map(describe).sort();
process.stdout.write(`${fs.readFileSync(headFile, 'utf8')}${modules.join('\n')}\n`);
