// Request limits: rate_limit's token bucket, --web.max-requests, and the
// connection cap that keeps accept() clear of the descriptor limit.
import { readFileSync } from 'node:fs';
import type { RateLimit } from './web-config';

/**
 * golang.org/x/time/rate's limiter as exporter-toolkit uses it: one token
 * earned per interval, at most `burst` kept, the bucket full at start. A
 * burst of 0 lets nothing through, as there.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly limit: RateLimit,
    private readonly clock: () => number = Date.now,
  ) {
    this.tokens = limit.burst;
    this.last = clock();
  }

  allow(): boolean {
    const now = this.clock();
    this.tokens = Math.min(
      this.limit.burst,
      this.tokens + (now - this.last) / this.limit.intervalMs,
    );
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/** node_exporter's --web.max-requests: scrapes served at once; 0 = no limit. */
export class ScrapeSlots {
  private used = 0;

  constructor(readonly max: number) {}

  /** A release function, or undefined when every slot is taken. */
  take(): (() => void) | undefined {
    if (this.max > 0 && this.used >= this.max) return undefined;
    this.used++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.used--;
    };
  }

  get inUse(): number {
    return this.used;
  }
}

/** Descriptors kept free of connections: stdio, the listener, epoll, the dumps' netlink sockets, procfs reads, the bcrypt worker. */
export const RESERVED_DESCRIPTORS = 64;

/** The soft RLIMIT_NOFILE of this process, from /proc/self/limits; undefined when it cannot tell. */
export function openFilesLimit(limitsFile = '/proc/self/limits'): number | undefined {
  try {
    const line = readFileSync(limitsFile, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const soft = line?.slice('Max open files'.length).trim().split(/\s+/)[0];
    const value = Number(soft);
    return Number.isInteger(value) && value > 0 ? value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The connection cap in force: --web.max-connections (0: none of its own),
 * and never so many that accept() would run out of descriptors. libuv
 * answers that case by closing the pending connections without telling
 * anyone; below the cap, Node closes the extra connection itself and we
 * log it.
 */
export function connectionCap(
  flag: number,
  descriptors: number | undefined,
): { cap: number; why: string } {
  const byDescriptors =
    descriptors === undefined ? 0 : Math.max(1, descriptors - RESERVED_DESCRIPTORS);
  if (byDescriptors > 0 && (flag === 0 || byDescriptors < flag)) {
    return {
      cap: byDescriptors,
      why: `the open files limit ${descriptors} less ${RESERVED_DESCRIPTORS} kept for dumps and files: raise LimitNOFILE`,
    };
  }
  return { cap: flag, why: '--web.max-connections' };
}
