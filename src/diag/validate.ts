// Option checks shared by the dump, the namespace handle and the destroy
// subscriber: precise messages ("Expected X for Y but received Z") before
// anything reaches the addon.

export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return 'an array';
  return value === null ? 'null' : typeof value === 'object' ? 'an object' : String(value);
}

export function oneOf<T extends string>(
  value: unknown,
  table: Record<T, unknown>,
  name: string,
): T {
  if (typeof value !== 'string' || !Object.hasOwn(table, value)) {
    throw new TypeError(
      `Expected one of ${Object.keys(table).join(', ')} for ${name} but received ${describe(value)}`,
    );
  }
  return value as T;
}

export function integerIn(value: unknown, name: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new TypeError(`Expected an integer for ${name} but received ${describe(value)}`);
  }
  if (value < min || value > max) {
    throw new RangeError(`Expected ${name} between ${min} and ${max} but received ${value}`);
  }
  return value;
}

export function booleanOption(value: unknown, name: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') {
    throw new TypeError(`Expected a boolean for ${name} but received ${describe(value)}`);
  }
  return value;
}

/** Rejects keys the options type does not have (a typo would otherwise be ignored). */
export function knownKeys(options: object, keys: ReadonlySet<string>, what: string): void {
  for (const key of Object.keys(options)) {
    if (!keys.has(key)) throw new TypeError(`Unknown ${what} option ${key}`);
  }
}

/**
 * A path as Node's fs checks it: a non-empty string without NUL bytes
 * (the kernel would see a shorter path than the caller wrote).
 */
export function pathOption(value: unknown, name: string): string {
  if (typeof value !== 'string' || value === '') {
    throw new TypeError(`Expected a path for ${name} but received ${describe(value)}`);
  }
  if (value.includes('\0')) {
    const error = new TypeError(
      `The argument '${name}' must be a string without null bytes. Received ${describe(value)}`,
    );
    (error as TypeError & { code: string }).code = 'ERR_INVALID_ARG_VALUE';
    throw error;
  }
  return value;
}
