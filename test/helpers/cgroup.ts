// cgroup v2 for tests: where it is mounted, and fresh cgroups under it that
// hold a test's processes. Socket owners are attributed by cgroup v2 id,
// which is the inode number of the cgroup's directory.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { SocketHolder } from './holder';

/** The cgroup2 mount point from /proc/self/mountinfo, or null. */
export function cgroup2Mount(): string | null {
  for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [left, right] = line.split(' - ');
    if (right?.split(' ')[0] === 'cgroup2') return left?.split(' ')[4] ?? null;
  }
  return null;
}

export function cgroupId(directory: string): bigint {
  return fs.statSync(directory, { bigint: true }).ino;
}

/** This process's cgroup v2 path ("0::/path" in /proc/self/cgroup). */
export function ownCgroupPath(): string {
  const line = fs
    .readFileSync('/proc/self/cgroup', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('0::'));
  return line?.slice(3) ?? '/';
}

/** Nested cgroups under one fresh test root, removed (deepest first) by remove(). */
export class TestCgroups {
  readonly root: string;
  private readonly made: string[] = [];

  constructor(readonly mount: string) {
    this.root = path.join(mount, `sdtest-${process.pid}-${randomBytes(3).toString('hex')}`);
  }

  /** Creates `relative` (e.g. "system.slice/app.service") under the root. */
  create(relative: string): string {
    let dir = this.root;
    for (const part of ['', ...relative.split('/')]) {
      dir = part ? path.join(dir, part) : dir;
      if (!fs.existsSync(dir)) {
        fs.mkdirSync(dir);
        this.made.push(dir);
      }
    }
    return dir;
  }

  /** The path ss prints for a directory: relative to the mount, with a leading slash. */
  ssPath(dir: string): string {
    return `/${path.relative(this.mount, dir)}`;
  }

  remove(): void {
    for (const dir of this.made.splice(0).reverse()) {
      try {
        fs.rmdirSync(dir);
      } catch {
        // still populated (a process that did not exit): left for the operator to see
      }
    }
  }
}

/**
 * A socket holder in network namespace `netnsPath`, placed in `cgroupDir`
 * before it creates any socket. nsenter changes only the network namespace:
 * the cgroup mount stays visible, unlike under `ip netns exec`.
 */
export function holderInCgroup(netnsPath: string, cgroupDir: string): SocketHolder {
  const holder = path.join(__dirname, 'holder.py');
  const script = 'echo $$ > "$1/cgroup.procs" && exec nsenter --net="$2" python3 "$3"';
  return new SocketHolder(
    spawn('sh', ['-c', script, 'sh', cgroupDir, netnsPath, holder], { stdio: 'pipe' }),
  );
}
