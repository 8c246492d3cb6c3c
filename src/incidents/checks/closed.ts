// Lines about what closed connections carried (the closed collector), for
// the checks whose cause is connections opened and closed instead of
// reused: how many close per second on a port, and how much each carried.
import type { ClosedPortFacts, IncidentInput } from '../types';
import { perSecond } from './context';

/** A median of this many segments or fewer, both ways, is one small exchange. */
const ONE_EXCHANGE_SEGMENTS = 12;

function where(port: ClosedPortFacts): string {
  return port.direction === 'inbound'
    ? `service port ${port.port}`
    : `connections to port ${port.port}`;
}

/** "service port 8080: 230 connections closed per second carrying a median of 591 bytes: ..." */
export function closedLine(port: ClosedPortFacts): string {
  const rate = `${where(port)}: ${perSecond(port.perSecond)} connections closed per second`;
  if (Number.isNaN(port.medianBytes)) return rate;
  const carried = `${rate} carrying a median of ${Math.round(port.medianBytes)} bytes`;
  return port.medianSegments <= ONE_EXCHANGE_SEGMENTS
    ? `${carried} in ${Math.round(port.medianSegments)} segments: about one request per connection`
    : carried;
}

/** The busiest ports' lines, the exporter's own port left out. */
export function closedLines(input: IncidentInput, limit = 3): string[] {
  const own = new Set(input.ownPorts ?? []);
  return (input.closed?.ports ?? [])
    .filter((p) => !(p.direction === 'inbound' && own.has(p.port)))
    .slice(0, limit)
    .map(closedLine);
}

/** The line for one service port's inbound connections, when it has closes. */
export function closedLineFor(input: IncidentInput, port: number): string | null {
  const facts = input.closed?.ports.find((p) => p.port === port && p.direction === 'inbound');
  return facts ? closedLine(facts) : null;
}
