// Cgroup v2 ids to paths. The id the kernel reports for a socket
// (INET_DIAG_CGROUP_ID, Linux 5.8+) is the inode number of the cgroup's
// directory on the cgroup2 mount: walking the mount and stat()ing each
// directory maps them, as `ss --cgroup` does. The map is kept; an unknown
// id walks the tree again, at most once per refresh interval, and ids
// still unknown after a walk are remembered as unknown until the next one.
import { readFileSync } from 'node:fs';
import { opendir, stat } from 'node:fs/promises';
import path from 'node:path';

export interface CgroupMount {
  path: string;
  /** How it was found: the flag, or /proc/self/mountinfo. */
  source: 'flag' | 'mountinfo';
}

/**
 * The cgroup2 mount point: `--path.cgroupfs` when given, else the first
 * cgroup2 line of mountinfo whose root is the hierarchy's root. null when
 * there is none (cgroup v1 only, or a mount namespace that hides it, as
 * `ip netns exec` does).
 */
export function findCgroup2Mount(procfs: string, flag: string): CgroupMount | null {
  if (flag) return { path: flag, source: 'flag' };
  let text: string;
  try {
    text = readFileSync(path.join(procfs, 'self', 'mountinfo'), 'utf8');
  } catch {
    return null;
  }
  for (const line of text.split('\n')) {
    const [left, right] = line.split(' - ');
    const fields = left?.split(' ') ?? [];
    if (right?.split(' ')[0] === 'cgroup2' && fields[3] === '/' && fields[4]) {
      return { path: unescapeMountPath(fields[4]), source: 'mountinfo' };
    }
  }
  return null;
}

/** mountinfo writes spaces, tabs, newlines and backslashes as octal escapes. */
function unescapeMountPath(text: string): string {
  return text.replace(/\\([0-7]{3})/g, (_, octal: string) =>
    String.fromCharCode(parseInt(octal, 8)),
  );
}

/** Whether the cgroup v1 net_cls or net_prio controller is mounted. */
export function netClassifierInUse(procfs: string): boolean {
  try {
    const text = readFileSync(path.join(procfs, 'self', 'mountinfo'), 'utf8');
    return /\s-\s+cgroup\s+\S+\s+\S*\b(net_cls|net_prio)\b/.test(text);
  } catch {
    return false;
  }
}

const MAX_DIRECTORIES = 200_000;
/** How long an id a walk did not find stays unknown before it may start another. */
const NEGATIVE_MS = 60_000;

export class CgroupIndex {
  private paths = new Map<number, string>();
  /** Ids a walk did not find, and when: not worth another walk for a while. */
  private unknown = new Map<number, number>();
  private lastWalk = -Infinity;
  private walking: Promise<void> | null = null;
  /** Directories the last walk could not read (permissions), for /doctor. */
  unreadable = 0;
  rootId: number | null = null;

  constructor(
    readonly mount: CgroupMount,
    private readonly refreshMs = 10_000,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Paths for the ids, walking the tree again when one is new (rate-limited). */
  async resolve(ids: Iterable<number>): Promise<Map<number, string>> {
    const wanted = [...new Set(ids)].filter((id) => id !== 0);
    const now = this.clock();
    const missing = wanted.some((id) => {
      if (this.paths.has(id)) return false;
      const missedAt = this.unknown.get(id);
      return missedAt === undefined || now - missedAt >= NEGATIVE_MS;
    });
    let walked = false;
    if (missing && now - this.lastWalk >= this.refreshMs) {
      await this.walk();
      walked = true;
    }
    const out = new Map<number, string>();
    for (const id of wanted) {
      const found = this.paths.get(id);
      if (found !== undefined) out.set(id, found);
      else if (walked) this.unknown.set(id, now);
    }
    return out;
  }

  private walk(): Promise<void> {
    this.walking ??= this.walkTree().finally(() => {
      this.walking = null;
    });
    return this.walking;
  }

  private async walkTree(): Promise<void> {
    this.lastWalk = this.clock();
    const paths = new Map<number, string>();
    let unreadable = 0;
    const queue: string[] = [''];
    while (queue.length > 0 && paths.size < MAX_DIRECTORIES) {
      const relative = queue.pop()!;
      const absolute = path.join(this.mount.path, relative);
      try {
        const { ino } = await stat(absolute, { bigint: true });
        paths.set(Number(ino), `/${relative}`);
        if (relative === '') this.rootId = Number(ino);
        for await (const entry of await opendir(absolute)) {
          if (entry.isDirectory()) queue.push(relative ? `${relative}/${entry.name}` : entry.name);
        }
      } catch {
        unreadable++;
      }
    }
    this.paths = paths;
    this.unreadable = unreadable;
  }
}
