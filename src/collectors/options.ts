// Collector options, declared once per collector: each entry's type,
// default, bounds and help text. The `--collector.NAME.OPTION` flags, their
// --help lines, the README's flag table and the defaults all derive from
// these declarations, and collectors receive their values typed.
//
// The option's key is its camelCase property name; the flag spells it in
// kebab case (portsLimit -> --collector.sockets.ports-limit).
import { FlagError } from '../errors';

interface Described<T> {
  help: string;
  default: T;
}

/** A whole number in [min, max]. Values above max are clamped (and the clamp reported). */
export interface IntegerOption extends Described<number> {
  kind: 'integer';
  min: number;
  max: number;
}

/** A decimal number in [min, max], e.g. a ratio or seconds. */
export interface NumberOption extends Described<number> {
  kind: 'number';
  min: number;
  max: number;
}

export interface BooleanOption extends Described<boolean> {
  kind: 'boolean';
}

/** A regular expression (JavaScript syntax), '' for none. */
export interface RegexOption extends Described<string> {
  kind: 'regex';
}

export type OptionSpec = IntegerOption | NumberOption | BooleanOption | RegexOption;
export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

/** The resolved values of a collector's options, typed from its declarations. */
export type OptionValues<S extends OptionSpecs> = {
  readonly [K in keyof S]: S[K]['default'];
};

export const integer = (spec: Omit<IntegerOption, 'kind'>): IntegerOption => ({
  kind: 'integer',
  ...spec,
});
export const decimal = (spec: Omit<NumberOption, 'kind'>): NumberOption => ({
  kind: 'number',
  ...spec,
});
export const boolean = (spec: Omit<BooleanOption, 'kind'>): BooleanOption => ({
  kind: 'boolean',
  ...spec,
});
export const regex = (spec: Omit<RegexOption, 'kind'>): RegexOption => ({
  kind: 'regex',
  ...spec,
});

/** A regex option's value compiled, null for ''. */
export function compiled(pattern: string): RegExp | null {
  return pattern === '' ? null : new RegExp(pattern);
}

/** portsLimit -> ports-limit */
export function flagSpelling(key: string): string {
  return key.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
}

/** What the flag's value looks like in --help and the README. */
export function describeRange(spec: OptionSpec): string {
  if (spec.kind === 'boolean') return 'true or false';
  if (spec.kind === 'regex') return 'a regular expression';
  const what = spec.kind === 'integer' ? 'a whole number' : 'a number';
  return `${what} from ${spec.min} to ${spec.max}`;
}

export interface ParsedOption {
  value: number | boolean | string;
  /** Set when the value was above the maximum and was lowered to it. */
  clampedFrom?: number;
}

// Decimal digits only: Number() would also take "0x10", "1e3" and " 7 ".
const DECIMAL = /^\d+(\.\d+)?$/;
const WHOLE = /^\d+$/;

/** Parses one flag value against its declaration; throws FlagError with what was expected. */
export function parseOption(spec: OptionSpec, flag: string, raw: string): ParsedOption {
  const expected = () =>
    new FlagError(`--${flag} expects ${describeRange(spec)}, got ${JSON.stringify(raw)}`);
  if (spec.kind === 'boolean') {
    if (raw !== 'true' && raw !== 'false') throw expected();
    return { value: raw === 'true' };
  }
  if (spec.kind === 'regex') {
    try {
      compiled(raw);
    } catch (error) {
      throw new FlagError(`--${flag} is not a regular expression: ${(error as Error).message}`);
    }
    return { value: raw };
  }
  if (!(spec.kind === 'integer' ? WHOLE : DECIMAL).test(raw)) throw expected();
  const value = Number(raw);
  if (!Number.isFinite(value) || value < spec.min) throw expected();
  if (value > spec.max) return { value: spec.max, clampedFrom: value };
  return { value };
}

/** Every option at its default. */
export function defaults<S extends OptionSpecs>(specs: S): OptionValues<S> {
  const out: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(specs)) out[key] = spec.default;
  return out as OptionValues<S>;
}
