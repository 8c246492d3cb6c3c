// Every check, keyed by the incident it decides (definitions.ts holds the
// names, titles and order).
import { CONNECTION_CHECKS } from './connections';
import type { Check } from './context';
import { LISTENER_CHECKS } from './listeners';
import { PAWS_CHECK, TIME_WAIT_CHECKS } from './time-wait';

export type { Check, CheckContext } from './context';

export const CHECKS: ReadonlyMap<string, Check> = new Map(
  [...LISTENER_CHECKS, ...TIME_WAIT_CHECKS, PAWS_CHECK, ...Object.values(CONNECTION_CHECKS)].map(
    (check) => [check.incident, check],
  ),
);
