// The one argument parser of bench/: node:util parseArgs in strict mode,
// with typed values and a --help text built from the same option table, so
// that an option cannot be accepted without being documented or the other
// way round. bench/main.js and bench/prof-summary.js describe their options
// as tables of this shape:
//
//   { name: { kind, help, value?, default?, min?, choices?, short? } }
//
// kind is 'boolean', 'string', 'integer' (value >= min), 'integers' (a
// comma-separated list of integers >= min), 'choices' (a comma-separated
// subset of `choices`, in the given order) or 'range' ("LOW-HIGH").
'use strict';

const util = require('node:util');

class UsageError extends Error {
  constructor(message) {
    super(message);
    this.name = 'UsageError';
    this.code = 'ERR_BENCH_USAGE';
  }
}

function integer(name, raw, min) {
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value) || value < min)
    throw new UsageError(`--${name} expects an integer >= ${min}, got ${JSON.stringify(raw)}`);
  return value;
}

function list(name, raw) {
  const items = raw.split(',').map((item) => item.trim());
  if (items.some((item) => item === ''))
    throw new UsageError(`--${name} expects a comma-separated list, got ${JSON.stringify(raw)}`);
  return items;
}

/** The typed value of one option from its string form. */
function convert(name, spec, raw) {
  const min = spec.min ?? 0;
  switch (spec.kind) {
    case 'boolean':
    case 'string':
      return raw;
    case 'integer':
      return integer(name, raw, min);
    case 'integers':
      return list(name, raw).map((item) => integer(name, item, min));
    case 'choices': {
      const picked = list(name, raw);
      const unknown = picked.find((item) => !spec.choices.includes(item));
      if (unknown !== undefined)
        throw new UsageError(
          `--${name}: unknown ${JSON.stringify(unknown)}; expected some of ${spec.choices.join(',')}`,
        );
      return spec.choices.filter((choice) => picked.includes(choice));
    }
    case 'range': {
      const match = /^(\d+)[- ](\d+)$/.exec(raw.trim());
      const range = match && [Number(match[1]), Number(match[2])];
      if (!range || range[0] < 1 || range[0] > range[1] || range[1] > 65535)
        throw new UsageError(
          `--${name} expects LOW-HIGH within 1-65535, got ${JSON.stringify(raw)}`,
        );
      return range;
    }
    default:
      throw new Error(`option table: --${name} has unknown kind ${spec.kind}`);
  }
}

const HELP_COLUMNS = 96;

/** Words of `text` in lines of at most `columns` characters (a longer word gets a line of its own). */
function wrap(text, columns) {
  const lines = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > columns) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  return [...lines, line];
}

/** The --help text: usage line, description, then one entry per option. */
function helpText(command) {
  const lines = [`usage: ${command.usage}`, '', ...command.description, '', 'options:'];
  const entries = Object.entries(command.options).map(([name, spec]) => {
    const flag = `${spec.short ? `-${spec.short}, ` : '    '}--${name}`;
    return [spec.kind === 'boolean' ? flag : `${flag} ${spec.value ?? 'VALUE'}`, spec];
  });
  const width = Math.max(...entries.map(([left]) => left.length)) + 2;
  for (const [left, spec] of entries) {
    const shown = spec.default === undefined || spec.kind === 'boolean' ? '' : spec.default;
    const help = shown === '' ? spec.help : `${spec.help} (default ${shown})`;
    wrap(help, HELP_COLUMNS - width - 2).forEach((text, i) =>
      lines.push(`  ${(i === 0 ? left : '').padEnd(width)}${text}`),
    );
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Parses argv against `command` ({usage, description, options, positionals:
 * {min, max}}). Returns {values, positionals, given}: `given` holds the
 * names that were on the command line (defaults fill `values` for the rest).
 * Throws UsageError on anything parseArgs or the converters reject.
 */
function parse(command, argv) {
  const config = {};
  for (const [name, spec] of Object.entries(command.options)) {
    config[name] = { type: spec.kind === 'boolean' ? 'boolean' : 'string' };
    if (spec.short) config[name].short = spec.short;
  }
  let parsed;
  try {
    parsed = util.parseArgs({
      args: argv,
      options: config,
      strict: true,
      allowPositionals: true,
      tokens: true,
    });
  } catch (error) {
    throw new UsageError(error.message);
  }
  const given = new Set(parsed.tokens.filter((t) => t.kind === 'option').map((t) => t.name));
  const values = {};
  for (const [name, spec] of Object.entries(command.options)) {
    const raw = parsed.values[name];
    if (raw !== undefined) values[name] = convert(name, spec, raw);
    else if (spec.default !== undefined)
      values[name] = spec.kind === 'boolean' ? spec.default : convert(name, spec, spec.default);
    else values[name] = spec.kind === 'boolean' ? false : undefined;
  }
  const { min = 0, max = 0 } = command.positionals ?? {};
  const count = parsed.positionals.length;
  if (!values.help && (count < min || count > max))
    throw new UsageError(
      max === 0
        ? `unexpected argument ${JSON.stringify(parsed.positionals[0])}`
        : `expected ${min === max ? min : `${min} to ${max}`} argument${max === 1 ? '' : 's'}, got ${count}`,
    );
  return { values, positionals: parsed.positionals, given };
}

/**
 * parse() for a script's main(): prints --help and exits 0, or prints the
 * usage error with a pointer to --help and exits 2.
 */
function parseOrExit(command, argv = process.argv.slice(2)) {
  try {
    const parsed = parse(command, argv);
    if (parsed.values.help) {
      process.stdout.write(helpText(command));
      process.exit(0);
    }
    return parsed;
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`${command.name}: ${error.message}\nRun with --help for the options.\n`);
    process.exit(2);
  }
}

module.exports = { UsageError, helpText, parse, parseOrExit };
