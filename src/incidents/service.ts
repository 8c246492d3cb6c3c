// The incident engine as a service: created once by the command line and
// handed to the incidents collector, the HTTP server (/doctor) and the
// doctor command, which all see the same findings.
import { IncidentEngine } from './engine';
import type { Thresholds } from './thresholds';
import type { Finding, IncidentInput } from './types';

export class IncidentService {
  private readonly engine: IncidentEngine;
  private newest: Finding[] | null = null;

  constructor(readonly thresholds: Thresholds) {
    this.engine = new IncidentEngine(thresholds);
  }

  /** Evaluates every check on one sample of the inputs. */
  evaluate(input: IncidentInput): Finding[] {
    this.newest = this.engine.evaluate(input);
    return this.newest;
  }

  /** The findings of the newest evaluation; null before the first. */
  get latest(): Finding[] | null {
    return this.newest;
  }
}
