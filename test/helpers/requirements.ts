// The one way a test says what it needs: `t.test(name, { skip:
// unavailable('namespaces', 'promtool') }, ...)`. Each need is checked once
// per process; the skip message says what is missing and how to get it.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { cgroup2Mount } from './cgroup';
import { ROOT } from './paths';

const INSTALL = 'scripts/install-deps.sh installs it';

/** Commands the suite may use, with the Debian package that brings each. */
const COMMANDS = {
  promtool: 'prometheus',
  prometheus: 'prometheus',
  valgrind: 'valgrind',
  nstat: 'iproute2',
  ss: 'iproute2',
  'clang++': 'clang',
  nft: 'nftables',
  'prometheus-node-exporter': 'prometheus-node-exporter',
  'systemd-analyze': 'systemd',
  openssl: 'openssl',
  prlimit: 'util-linux',
} as const;

/** `build`: the node-gyp build tree (npm ci made it), for the Debug build. */
export type Need = 'root' | 'namespaces' | 'build' | 'cgroup2' | keyof typeof COMMANDS;

const cache = new Map<Need, string | false>();

function hasCommand(command: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

function namespacesMissing(): string | false {
  if (process.getuid?.() !== 0) {
    return 'needs root to create network namespaces (run as root, as CI does)';
  }
  const probe = `sdprobe-${randomBytes(3).toString('hex')}`;
  try {
    execFileSync('ip', ['netns', 'add', probe], { stdio: 'pipe' });
    execFileSync('ip', ['netns', 'del', probe], { stdio: 'pipe' });
    return false;
  } catch (error) {
    return `cannot create network namespaces here: ${String(error).split('\n')[0]}`;
  }
}

function check(need: Need): string | false {
  if (need === 'root') return process.getuid?.() === 0 ? false : 'needs root';
  if (need === 'namespaces') return namespacesMissing();
  if (need === 'cgroup2') {
    return cgroup2Mount() ? false : 'no cgroup2 mount in /proc/self/mountinfo';
  }
  if (need === 'build') {
    return existsSync(path.join(ROOT, 'build', 'Makefile'))
      ? false
      : 'build/Makefile missing: run npm ci (node-gyp configure) first';
  }
  return hasCommand(need)
    ? false
    : `${need} not installed (Debian package ${COMMANDS[need]}; ${INSTALL})`;
}

/** false when every need is met here, else why not: a value for tap's `skip`. */
export function unavailable(...needs: Need[]): string | false {
  for (const need of needs) {
    if (!cache.has(need)) cache.set(need, check(need));
    const reason = cache.get(need);
    if (reason) return reason;
  }
  return false;
}
