// What the incident checks learn from closed connections: pure data, made
// by ClosedTally.facts() and built by hand in the checks' tests.
import type { Direction } from './classify';

export interface ClosedPortFacts {
  port: number;
  direction: Direction;
  /** Connections closed within the window. */
  closes: number;
  perSecond: number;
  /** Of the most recent ones that carried traffic: bytes both ways (received + acked) and segments. NaN for none. */
  medianBytes: number;
  medianSegments: number;
}

export interface ClosedFacts {
  /** The span the rates cover: the last minute, or less since the subscription. */
  windowSeconds: number;
  /** Every connection closed within the window, per second (ports beyond the limit included). */
  perSecond: number;
  /** Busiest first. */
  ports: ClosedPortFacts[];
  /** Destroy events lost since the subscription: the figures are then a lower bound. */
  lost: number;
}
