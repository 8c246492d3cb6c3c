import { endianness } from 'node:os';

// Compiles a port filter into an INET_DIAG_REQ_BYTECODE program, so that the
// kernel skips sockets before they are ever copied to us.
//
// The kernel's interpreter (inet_diag_bc_run): each op is {code, yes, no};
// when its condition holds, jump `yes` bytes forward, else `no`. A socket is
// accepted iff execution lands exactly on the end. inet_diag_bc_audit()
// walks the `yes` chain from the start, so every op must be reachable that
// way, and each `no` must land on an op boundary, the end, or end + 4
// (reject).

/** One port or an inclusive range; `min`/`max` default to 0/65535. */
export type PortMatch = number | { min?: number; max?: number };

export interface PortFilter {
  /** Local (source) port: one match, or any of several. */
  localPort?: PortMatch | PortMatch[];
  /** Remote (destination) port. */
  remotePort?: PortMatch | PortMatch[];
}

const OP_JMP = 1;
const OP_S_GE = 2;
const OP_S_LE = 3;
const OP_D_GE = 4;
const OP_D_LE = 5;

interface Range {
  min: number;
  max: number;
}

type Instruction =
  | { kind: 'compare'; code: number; port: number; onFail: string }
  | { kind: 'jump'; target: string }
  | { kind: 'label'; name: string };

function checkPort(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new TypeError(`Expected an integer port for ${name} but received ${String(value)}`);
  }
  if (value < 0 || value > 65535) {
    throw new RangeError(`Expected ${name} between 0 and 65535 but received ${value}`);
  }
  return value;
}

export function normaliseMatches(match: PortMatch | PortMatch[], name: string): Range[] {
  const list = Array.isArray(match) ? match : [match];
  if (list.length === 0) throw new RangeError(`Expected at least one port in ${name}`);
  return list.map((item, index) => {
    const where = Array.isArray(match) ? `${name}[${index}]` : name;
    if (typeof item === 'number') {
      const port = checkPort(item, where);
      return { min: port, max: port };
    }
    if (item === null || typeof item !== 'object') {
      throw new TypeError(
        `Expected a port or {min, max} for ${where} but received ${String(item)}`,
      );
    }
    const min = item.min === undefined ? 0 : checkPort(item.min, `${where}.min`);
    const max = item.max === undefined ? 65535 : checkPort(item.max, `${where}.max`);
    if (min > max) throw new RangeError(`Expected ${where}.min <= ${where}.max (${min} > ${max})`);
    return { min, max };
  });
}

/**
 * A filter expression: a PortFilter (its sides ANDed), or all/any/not of
 * expressions. `{ any: [{ localPort: 80 }, { remotePort: 80 }] }` is ss's
 * `( sport = :80 or dport = :80 )`.
 */
export type PortExpression =
  PortFilter | { all: PortExpression[] } | { any: PortExpression[] } | { not: PortExpression };

const MAX_DEPTH = 32;
const LEAF_KEYS = new Set(['localPort', 'remotePort']);

/** Labels are unique per compilation; `reject` is end + 4, `accept` the end. */
class Emitter {
  readonly out: Instruction[] = [];
  private next = 0;
  label(): string {
    return `l${this.next++}`;
  }
}

/** OR over ranges of one side; falls through on a match, jumps to `onFail` otherwise. */
function emitSide(ranges: Range[], ge: number, le: number, onFail: string, emit: Emitter): void {
  const end = emit.label();
  ranges.forEach((range, index) => {
    const last = index === ranges.length - 1;
    const next = last ? onFail : emit.label();
    if (range.min > 0) emit.out.push({ kind: 'compare', code: ge, port: range.min, onFail: next });
    if (range.max < 65535)
      emit.out.push({ kind: 'compare', code: le, port: range.max, onFail: next });
    if (!last) {
      emit.out.push({ kind: 'jump', target: end });
      emit.out.push({ kind: 'label', name: next });
    }
  });
  emit.out.push({ kind: 'label', name: end });
}

function expressionList(value: unknown, where: string): PortExpression[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new TypeError(`Expected a non-empty array of filter expressions for ${where}`);
  }
  return value as PortExpression[];
}

/**
 * Emits code that falls through when `expression` holds for a socket and
 * jumps to `onFail` when it does not. Every jump goes forward, and every op
 * is on the `yes` chain, as inet_diag_bc_audit() requires.
 */
function emitExpression(
  expression: PortExpression,
  where: string,
  onFail: string,
  emit: Emitter,
  depth: number,
): void {
  if (expression === null || typeof expression !== 'object' || Array.isArray(expression)) {
    throw new TypeError(`Expected an object for ${where} but received ${String(expression)}`);
  }
  if (depth > MAX_DEPTH) throw new RangeError(`${where}: filter nested deeper than ${MAX_DEPTH}`);
  const keys = Object.keys(expression);
  const operator = keys.find((key) => !LEAF_KEYS.has(key));
  if (operator !== undefined) {
    if (keys.length !== 1 || !['all', 'any', 'not'].includes(operator)) {
      throw new TypeError(
        `${where}: expected localPort/remotePort, or exactly one of all, any, not; got ${keys.join(', ')}`,
      );
    }
  }
  if ('all' in expression) {
    expressionList(expression.all, `${where}.all`).forEach((item, index) =>
      emitExpression(item, `${where}.all[${index}]`, onFail, emit, depth + 1),
    );
  } else if ('any' in expression) {
    const items = expressionList(expression.any, `${where}.any`);
    const end = emit.label();
    items.forEach((item, index) => {
      if (index === items.length - 1) {
        emitExpression(item, `${where}.any[${index}]`, onFail, emit, depth + 1);
        return;
      }
      const next = emit.label();
      emitExpression(item, `${where}.any[${index}]`, next, emit, depth + 1);
      emit.out.push({ kind: 'jump', target: end });
      emit.out.push({ kind: 'label', name: next });
    });
    emit.out.push({ kind: 'label', name: end });
  } else if ('not' in expression) {
    // The inner code falls through when it holds: then jump to onFail.
    const holdsNot = emit.label();
    emitExpression(expression.not, `${where}.not`, holdsNot, emit, depth + 1);
    emit.out.push({ kind: 'jump', target: onFail });
    emit.out.push({ kind: 'label', name: holdsNot });
  } else {
    const leaf = expression as PortFilter;
    if (leaf.localPort !== undefined) {
      const ranges = normaliseMatches(leaf.localPort, `${where}.localPort`);
      emitSide(ranges, OP_S_GE, OP_S_LE, onFail, emit);
    }
    if (leaf.remotePort !== undefined) {
      const ranges = normaliseMatches(leaf.remotePort, `${where}.remotePort`);
      emitSide(ranges, OP_D_GE, OP_D_LE, onFail, emit);
    }
  }
}

function size(instruction: Instruction): number {
  if (instruction.kind === 'compare') return 8; // op + operand op
  return instruction.kind === 'jump' ? 4 : 0;
}

/** Returns the program, or null when the filter matches every socket. */
export function compilePortFilter(filter: PortExpression | undefined): Uint8Array | null {
  if (filter === undefined) return null;
  const emit = new Emitter();
  emitExpression(filter, 'filter', 'reject', emit, 0);
  const program = emit.out;
  const total = program.reduce((sum, instruction) => sum + size(instruction), 0);
  if (total === 0) return null; // only full ranges: no filtering needed
  // The attribute's length is 16 bits, and so is each op's `no` offset.
  if (total > 65000) throw new RangeError('filter: too many port ranges for one program');

  const labels = new Map<string, number>([['reject', total + 4]]);
  let offset = 0;
  for (const instruction of program) {
    if (instruction.kind === 'label') labels.set(instruction.name, offset);
    offset += size(instruction);
  }
  const bytes = new Uint8Array(total);
  const view = new DataView(bytes.buffer);
  const little = endianness() === 'LE';
  const writeOp = (at: number, code: number, yes: number, no: number) => {
    view.setUint8(at, code);
    view.setUint8(at + 1, yes);
    view.setUint16(at + 2, no, little); // host byte order
  };
  offset = 0;
  for (const instruction of program) {
    if (instruction.kind === 'compare') {
      const target = labels.get(instruction.onFail)!;
      writeOp(offset, instruction.code, 8, target - offset);
      writeOp(offset + 4, 0, 0, instruction.port); // operand: port in `no`
    } else if (instruction.kind === 'jump') {
      // JMP always takes `no`; `yes` = 4 keeps the next op on the audit chain.
      writeOp(offset, OP_JMP, 4, labels.get(instruction.target)! - offset);
    }
    offset += size(instruction);
  }
  return bytes;
}

function inMatch(port: number, match: PortMatch | PortMatch[]): boolean {
  return (Array.isArray(match) ? match : [match]).some((m) =>
    typeof m === 'number' ? port === m : port >= (m.min ?? 0) && port <= (m.max ?? 65535),
  );
}

/** What the kernel decides for a socket with these ports (for tests and tools). */
export function portExpressionMatches(
  expression: PortExpression,
  localPort: number,
  remotePort: number,
): boolean {
  if ('all' in expression)
    return expression.all.every((e) => portExpressionMatches(e, localPort, remotePort));
  if ('any' in expression)
    return expression.any.some((e) => portExpressionMatches(e, localPort, remotePort));
  if ('not' in expression) return !portExpressionMatches(expression.not, localPort, remotePort);
  return (
    (expression.localPort === undefined || inMatch(localPort, expression.localPort)) &&
    (expression.remotePort === undefined || inMatch(remotePort, expression.remotePort))
  );
}
