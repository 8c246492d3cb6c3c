// A ScrapeContext for running collectors directly in tests.
import pino from 'pino';
import type { ScrapeContext } from '../../src/collectors/collector';

export function scrapeContext(procfs: string, enabled: string[]): ScrapeContext {
  return {
    procfs,
    log: pino({ level: 'silent' }),
    shared: new Map(),
    now: Date.now(),
    enabled: new Set(enabled),
    configured: new Set(enabled),
    settings: {},
  };
}
