// Counts occurrences of (u32, u32, u16) keys in typed arrays with open
// addressing: no allocation per socket, unlike a Map of numbers above 2^31
// (boxed doubles) or of strings. Used for IPv4 (and v4-mapped) peers.

const EMPTY = 0;

function hash(a: number, b: number, c: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b);
  h ^= Math.imul(b ^ 0x7f4a7c15, 0xc2b2ae35);
  h ^= Math.imul(c + 0x165667b1, 0x27d4eb2f);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  return (h ^ (h >>> 13)) >>> 0;
}

export class TupleCounter {
  private a: Uint32Array;
  private b: Uint32Array;
  /** c + 1, so that 0 marks an empty slot. */
  private c: Uint32Array;
  private counts: Uint32Array;
  private mask: number;
  size = 0;

  constructor(capacity = 1024) {
    const slots = 1 << Math.ceil(Math.log2(Math.max(capacity, 16)));
    this.a = new Uint32Array(slots);
    this.b = new Uint32Array(slots);
    this.c = new Uint32Array(slots);
    this.counts = new Uint32Array(slots);
    this.mask = slots - 1;
  }

  add(a: number, b: number, c: number): void {
    const tag = c + 1;
    let slot = hash(a, b, c) & this.mask;
    for (;;) {
      const stored = this.c[slot]!;
      if (stored === EMPTY) break;
      if (stored === tag && this.a[slot] === a && this.b[slot] === b) {
        this.counts[slot]!++;
        return;
      }
      slot = (slot + 1) & this.mask;
    }
    this.a[slot] = a;
    this.b[slot] = b;
    this.c[slot] = tag;
    this.counts[slot] = 1;
    if (++this.size * 2 > this.mask) this.grow();
  }

  /** Calls `visit` once per distinct key with its count. */
  forEach(visit: (a: number, b: number, c: number, count: number) => void): void {
    for (let slot = 0; slot <= this.mask; slot++) {
      const tag = this.c[slot]!;
      if (tag !== EMPTY) visit(this.a[slot]!, this.b[slot]!, tag - 1, this.counts[slot]!);
    }
  }

  private grow(): void {
    const { a, b, c, counts } = this;
    const slots = (this.mask + 1) * 2;
    this.a = new Uint32Array(slots);
    this.b = new Uint32Array(slots);
    this.c = new Uint32Array(slots);
    this.counts = new Uint32Array(slots);
    this.mask = slots - 1;
    for (let slot = 0; slot < c.length; slot++) {
      const tag = c[slot]!;
      if (tag === EMPTY) continue;
      let target = hash(a[slot]!, b[slot]!, tag - 1) & this.mask;
      while (this.c[target] !== EMPTY) target = (target + 1) & this.mask;
      this.a[target] = a[slot]!;
      this.b[target] = b[slot]!;
      this.c[target] = tag;
      this.counts[target] = counts[slot]!;
    }
  }
}
