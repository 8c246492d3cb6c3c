// Run by node-gyp-build when the package installs ("prebuild.test" in
// package.json): exiting non-zero makes node-gyp-build compile the addon from
// source with node-gyp. It exits zero, so nothing is compiled, only when an
// existing build or the bundled Node-API prebuild loads on this Node. In a git
// checkout it always fails on purpose: a developer's `npm ci` compiles what is
// checked out, as it did before prebuilds, instead of keeping a stale
// build/Release or a prebuild left by `npm pack`.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
if (fs.existsSync(path.join(root, '.git'))) {
  console.error('sockdiag-exporter: git checkout, compiling the addon from source');
  process.exit(1);
}
const addon = require('node-gyp-build')(root);
if (typeof addon.Dump !== 'function') {
  console.error('sockdiag-exporter: the addon loaded but has no Dump: compiling from source');
  process.exit(1);
}
