// The port-filter compiler checked against a model of the kernel: a port of
// inet_diag_bc_audit() (which rejects a program with -EINVAL) and of
// inet_diag_bc_run() (which decides each socket), written from
// net/ipv4/inet_diag.c. Random expressions must pass the audit and decide
// every (sport, dport) exactly as the expression does. The live tests in
// dump-live.test.ts check the same compiler against ss on real sockets.
import t from 'tap';
import {
  compilePortFilter,
  type PortExpression,
  type PortMatch,
  portExpressionMatches as evaluate,
} from '../../src/diag';

const NOP = 0;
const JMP = 1;
const S_GE = 2;
const S_LE = 3;
const D_GE = 4;
const D_LE = 5;

function op(bytes: Uint8Array, at: number) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { code: view.getUint8(at), yes: view.getUint8(at + 1), no: view.getUint16(at + 2, true) };
}

/** valid_cc(): `cc` bytes before the end is an op boundary on the yes chain. */
function validCc(bytes: Uint8Array, cc: number): boolean {
  let len = bytes.length;
  let at = 0;
  while (len >= 0) {
    if (cc > len) return false;
    if (cc === len) return true;
    const { yes } = op(bytes, at);
    if (yes < 4 || yes & 3) return false;
    len -= yes;
    at += yes;
  }
  return false;
}

/** inet_diag_bc_audit(), port comparisons and jumps only. */
function audit(bytes: Uint8Array): boolean {
  let len = bytes.length;
  let at = 0;
  while (len > 0) {
    const { code, yes, no } = op(bytes, at);
    let minLen = 4;
    if (code >= S_GE && code <= D_LE) {
      if (len < 8) return false;
      minLen = 8;
    } else if (code !== JMP && code !== NOP) {
      return false;
    }
    if (code !== NOP) {
      if (no < minLen || no > len + 4 || no & 3) return false;
      if (no < len && !validCc(bytes, len - no)) return false;
    }
    if (yes < minLen || yes > len + 4 || yes & 3) return false;
    at += yes;
    len -= yes;
  }
  return len === 0;
}

/** inet_diag_bc_run(): true when the socket is reported. */
function run(bytes: Uint8Array, sport: number, dport: number): boolean {
  let len = bytes.length;
  let at = 0;
  while (len > 0) {
    const { code, yes, no } = op(bytes, at);
    const operand = code >= S_GE && code <= D_LE ? op(bytes, at + 4).no : 0;
    let holds = true;
    if (code === JMP) holds = false;
    else if (code === S_GE) holds = sport >= operand;
    else if (code === S_LE) holds = sport <= operand;
    else if (code === D_GE) holds = dport >= operand;
    else if (code === D_LE) holds = dport <= operand;
    const step = holds ? yes : no;
    len -= step;
    at += step;
  }
  return len === 0;
}

// A small deterministic generator (mulberry32), so a failure reproduces.
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

const EDGE_PORTS = [0, 1, 2, 3, 5, 8, 9, 10, 65534, 65535];

function randomMatch(next: () => number): PortMatch | PortMatch[] {
  const one = (): PortMatch => {
    const pick = () => EDGE_PORTS[Math.floor(next() * EDGE_PORTS.length)]!;
    if (next() < 0.4) return pick();
    const [a, b] = [pick(), pick()].sort((x, y) => x - y);
    const range: { min?: number; max?: number } = {};
    if (next() < 0.8) range.min = a!;
    if (next() < 0.8) range.max = b!;
    return range;
  };
  return next() < 0.5 ? one() : Array.from({ length: 1 + Math.floor(next() * 3) }, one);
}

function randomExpression(next: () => number, depth: number): PortExpression {
  const roll = next();
  if (depth >= 4 || roll < 0.35) {
    const leaf: { localPort?: PortMatch | PortMatch[]; remotePort?: PortMatch | PortMatch[] } = {};
    if (next() < 0.7) leaf.localPort = randomMatch(next);
    if (next() < 0.5) leaf.remotePort = randomMatch(next);
    return leaf;
  }
  const children = () =>
    Array.from({ length: 1 + Math.floor(next() * 3) }, () => randomExpression(next, depth + 1));
  if (roll < 0.6) return { any: children() };
  if (roll < 0.85) return { all: children() };
  return { not: randomExpression(next, depth + 1) };
}

t.test(
  'random expressions: the kernel accepts the program and decides like the expression',
  async (t) => {
    const next = random(20261123);
    const samples: [number, number][] = [];
    for (const s of EDGE_PORTS) for (const d of EDGE_PORTS) samples.push([s, d]);
    let programs = 0;
    let mismatches = 0;
    let rejected = 0;
    for (let i = 0; i < 3000; i++) {
      const expression = randomExpression(next, 0);
      const bytes = compilePortFilter(expression);
      if (bytes === null) {
        // null means "no program": every socket must match.
        for (const [s, d] of samples) if (!evaluate(expression, s, d)) mismatches++;
        continue;
      }
      programs++;
      if (!audit(bytes)) {
        rejected++;
        if (rejected < 3) t.fail(`audit rejects ${JSON.stringify(expression)}`);
        continue;
      }
      for (const [s, d] of samples) {
        if (run(bytes, s, d) !== evaluate(expression, s, d)) {
          mismatches++;
          if (mismatches < 3) t.fail(`${JSON.stringify(expression)} at ${s} -> ${d}`);
        }
      }
    }
    t.ok(programs > 2000, `${programs} non-trivial programs generated`);
    t.equal(rejected, 0, 'every program passes the audit');
    t.equal(mismatches, 0, 'every program decides every sample like the expression');
  },
);

t.test('shapes', async (t) => {
  t.equal(compilePortFilter(undefined), null, 'no filter');
  t.equal(compilePortFilter({}), null, 'an empty leaf matches everything');
  t.equal(compilePortFilter({ localPort: { min: 0, max: 65535 } }), null, 'a full range too');
  const not = compilePortFilter({ not: {} })!;
  t.ok(audit(not), 'not(everything) is a valid program');
  t.equal(run(not, 80, 80), false, 'that matches nothing');
  const split = compilePortFilter({
    any: [
      { localPort: [{ min: 20000, max: 20099 }, 22], remotePort: { max: 44000 } },
      {
        all: [
          { not: { localPort: [{ min: 20000, max: 20099 }, 22] } },
          { localPort: { max: 44000 } },
        ],
      },
    ],
  })!;
  t.ok(audit(split), 'the scan split program passes the audit');
  t.equal(run(split, 22, 40000), true, 'service side, low remote port: this half');
  t.equal(run(split, 22, 50000), false, 'service side, high remote port: the other half');
  t.equal(run(split, 40000, 22), true, 'client side, low local port: this half');
  t.equal(run(split, 50000, 22), false, 'client side, high local port: the other half');
});

t.test('bad expressions are TypeErrors and RangeErrors naming the place', async (t) => {
  const bad = (value: unknown) => () => compilePortFilter(value as PortExpression);
  t.throws(bad({ any: [] }), { name: 'TypeError', message: /filter\.any/ });
  t.throws(bad({ all: 'x' }), { name: 'TypeError', message: /filter\.all/ });
  t.throws(bad({ not: null }), { name: 'TypeError', message: /filter\.not/ });
  t.throws(bad({ any: [{ localPort: 1 }], not: {} }), {
    name: 'TypeError',
    message: /exactly one/,
  });
  t.throws(bad({ localPort: 1, sport: 2 }), { name: 'TypeError', message: /sport/ });
  t.throws(bad({ any: [{ localPort: 70000 }] }), {
    name: 'RangeError',
    message: /filter\.any\[0\]\.localPort/,
  });
  let deep: PortExpression = { localPort: 1 };
  for (let i = 0; i < 40; i++) deep = { not: deep };
  t.throws(bad(deep), { name: 'RangeError', message: /deeper/ });
  const many = Array.from({ length: 5000 }, (_, i) => i * 13 + 1);
  t.throws(bad({ localPort: many }), { name: 'RangeError', message: /too many/ });
});
