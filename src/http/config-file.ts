// Shape checks for --web.config.file, shared by its sections. Every
// problem becomes one WebConfigError whose message names the file, the key
// and what is wrong with it: the command line prints it as one line and
// exits 2, and a reload logs it and keeps the running configuration.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { WebConfigError } from '../errors';

export function fail(file: string, message: string): never {
  throw new WebConfigError(`--web.config.file ${file}: ${message}`);
}

/**
 * `raw` as a mapping with only `known` keys. exporter-toolkit reads the file
 * with yaml.UnmarshalStrict, so a misspelt key is an error there too, not
 * a setting silently left at its default.
 */
export function mapping(
  file: string,
  where: string,
  raw: unknown,
  known: readonly string[],
): Record<string, unknown> {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    fail(file, `${where} must be a mapping`);
  }
  const unknown = Object.keys(raw).filter((key) => !known.includes(key));
  if (unknown.length > 0) {
    const keys = unknown.join(', ');
    fail(
      file,
      `${where}: unknown key${unknown.length > 1 ? 's' : ''} ${keys} (known: ${known.join(', ')})`,
    );
  }
  return raw as Record<string, unknown>;
}

export function optionalString(file: string, where: string, value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') fail(file, `${where} must be a string`);
  return value;
}

export function optionalBoolean(file: string, where: string, value: unknown): boolean | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') fail(file, `${where} must be true or false`);
  return value;
}

export function stringList(file: string, where: string, value: unknown): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
    fail(file, `${where} must be a list of strings`);
  }
  return value as string[];
}

/** A file named in the config, relative to the config's own directory (as exporter-toolkit resolves it). */
export function resolveRelative(file: string, value: string): string {
  return path.resolve(path.dirname(file), value);
}

export function readNamedFile(file: string, where: string, value: string): Buffer {
  const resolved = resolveRelative(file, value);
  try {
    return readFileSync(resolved);
  } catch (error) {
    fail(file, `cannot read ${where} ${resolved}: ${(error as Error).message}`);
  }
}
