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

/** OR over ranges of one side; falls through on a match, jumps to `onFail` otherwise. */
function emitGroup(
  ranges: Range[],
  ge: number,
  le: number,
  group: string,
  onFail: string,
  out: Instruction[],
): void {
  ranges.forEach((range, index) => {
    const last = index === ranges.length - 1;
    const next = last ? onFail : `${group}.alt${index + 1}`;
    if (range.min > 0) out.push({ kind: 'compare', code: ge, port: range.min, onFail: next });
    if (range.max < 65535) out.push({ kind: 'compare', code: le, port: range.max, onFail: next });
    if (!last) {
      out.push({ kind: 'jump', target: `${group}.end` });
      out.push({ kind: 'label', name: next });
    }
  });
  out.push({ kind: 'label', name: `${group}.end` });
}

function size(instruction: Instruction): number {
  if (instruction.kind === 'compare') return 8; // op + operand op
  return instruction.kind === 'jump' ? 4 : 0;
}

/** Returns the program, or null when the filter matches every socket. */
export function compilePortFilter(filter: PortFilter | undefined): Uint8Array | null {
  if (filter === undefined) return null;
  if (filter === null || typeof filter !== 'object') {
    throw new TypeError(`Expected an object for filter but received ${String(filter)}`);
  }
  const program: Instruction[] = [];
  if (filter.localPort !== undefined) {
    const ranges = normaliseMatches(filter.localPort, 'filter.localPort');
    emitGroup(ranges, OP_S_GE, OP_S_LE, 'local', 'reject', program);
  }
  if (filter.remotePort !== undefined) {
    const ranges = normaliseMatches(filter.remotePort, 'filter.remotePort');
    emitGroup(ranges, OP_D_GE, OP_D_LE, 'remote', 'reject', program);
  }
  const total = program.reduce((sum, instruction) => sum + size(instruction), 0);
  if (total === 0) return null; // only full ranges: no filtering needed
  if (total > 65535) throw new RangeError('filter: too many port ranges for one program');

  const labels = new Map<string, number>([['reject', total + 4]]);
  let offset = 0;
  for (const instruction of program) {
    if (instruction.kind === 'label') labels.set(instruction.name, offset);
    offset += size(instruction);
  }
  const bytes = new Uint8Array(total);
  const view = new DataView(bytes.buffer);
  const writeOp = (at: number, code: number, yes: number, no: number) => {
    view.setUint8(at, code);
    view.setUint8(at + 1, yes);
    view.setUint16(at + 2, no, endianness() === 'LE'); // host byte order
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
