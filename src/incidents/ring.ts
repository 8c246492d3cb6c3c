// The counter samples the incident service takes on its own schedule. Rates
// are computed from the oldest readable sample inside the window to the
// evaluation's own fresh reading, never from whatever another consumer read
// last: /metrics and /doctor each get the same view, and neither perturbs it.
import type { Baseline, CounterSample } from './types';

export class CounterRing {
  private readonly samples: CounterSample[] = [];

  /**
   * @param windowMs rates span at most this much (older samples are dropped)
   * @param minimumMs and at least this much: a rate over 20 ms is noise
   */
  constructor(
    readonly windowMs: number,
    readonly minimumMs: number,
  ) {}

  push(sample: CounterSample): void {
    // Samples closer together than half the minimum span add nothing a rate
    // can use: the newest replaces the last one instead, so that a consumer
    // pushing on every scrape (a namespace's checks, scraped 100 times a
    // second by a misbehaving client) keeps a bounded ring, not every
    // scrape of the window.
    const n = this.samples.length;
    if (n >= 2 && sample.at - this.samples[n - 2]!.at < this.minimumMs / 2) {
      this.samples[n - 1] = sample;
    } else {
      this.samples.push(sample);
    }
    // Keep one sample older than the window, so that a window always has a start.
    while (this.samples.length > 2 && this.samples[1]!.at <= sample.at - this.windowMs) {
      this.samples.shift();
    }
  }

  get size(): number {
    return this.samples.length;
  }

  newest(): CounterSample | undefined {
    return this.samples.at(-1);
  }

  /**
   * The sample a rate at `now` starts from: among readable samples at least
   * the minimum span old, the oldest inside the window, else the newest
   * (one just older than the window, when samples are as far apart as it).
   */
  baseline(now: number): Baseline {
    const candidates = this.samples.filter(
      (s) => s.netstat !== null && s.at <= now - this.minimumMs,
    );
    const inside = candidates.find((s) => s.at >= now - this.windowMs);
    const chosen = inside ?? candidates.at(-1);
    if (chosen && chosen.at >= now - 2 * this.windowMs) return { sample: chosen };
    const first = this.samples[0];
    const seconds = (ms: number) => `${Math.round(ms / 100) / 10} s`;
    if (!first || first.at > now - this.minimumMs) {
      return {
        sample: null,
        missing: `rates need counter samples at least ${seconds(this.minimumMs)} apart: the first was taken ${first ? `${seconds(now - first.at)} ago` : 'not yet'}`,
      };
    }
    return {
      sample: null,
      missing: `no readable counter sample in the last ${seconds(this.windowMs)}`,
    };
  }
}
