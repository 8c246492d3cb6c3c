// A log line for something that can happen thousands of times a second (a
// refused connection, a failed accept): the first occurrence is logged at
// once, the following ones within `intervalMs` are counted, and the count
// rides on the next line logged after the interval.
import type { Logger } from 'pino';

export class RateLimitedLog {
  private last = -Infinity;
  private suppressed = 0;

  constructor(
    private readonly log: Logger,
    private readonly intervalMs: number,
    private readonly clock: () => number = Date.now,
  ) {}

  warn(fields: Record<string, unknown>, message: string): void {
    this.emit('warn', fields, message);
  }

  error(fields: Record<string, unknown>, message: string): void {
    this.emit('error', fields, message);
  }

  private emit(level: 'warn' | 'error', fields: Record<string, unknown>, message: string): void {
    const now = this.clock();
    if (now - this.last < this.intervalMs) {
      this.suppressed++;
      return;
    }
    this.last = now;
    const suppressed = this.suppressed;
    this.suppressed = 0;
    this.log[level]({ ...fields, ...(suppressed > 0 ? { suppressed } : {}) }, message);
  }
}
