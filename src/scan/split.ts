// Splitting the TCP walk into parts that run at once, one kernel walk per
// CPU, each with a bytecode filter that keeps its own share of the table.
//
// Part k keeps the sockets whose higher port, max(local, remote), falls in
// its slice of the port space. Both ends of a connection have the same
// higher port, every socket lands in exactly one part, and the test is a
// handful of ops per socket in the kernel. The higher port is nearly always
// the client's ephemeral port, uniform over ip_local_port_range, so slicing
// that range evenly balances the parts. (A service port above most
// ephemeral ports would crowd one part; the split is still exact.)
import type { PortExpression } from '../diag';

/** Parts whose union is every socket and which never overlap. */
export function higherPortSplit(ephemeral: [number, number], parts: number): PortExpression[] {
  if (!Number.isInteger(parts) || parts < 1)
    throw new RangeError(`Expected parts >= 1, got ${parts}`);
  const [low, high] = ephemeral[0] <= ephemeral[1] ? ephemeral : [ephemeral[1], ephemeral[0]];
  // Bounds b1 < b2 < ... inside the range; part k is [b_k, b_k+1 - 1], b0 = 0.
  const bounds: number[] = [];
  for (let k = 1; k < parts; k++) {
    const bound = Math.round(low + ((high - low + 1) * k) / parts);
    if (bound > (bounds.at(-1) ?? 0) && bound <= 65535) bounds.push(bound);
  }
  if (bounds.length === 0) return [{}];
  const expressions: PortExpression[] = [];
  for (let k = 0; k <= bounds.length; k++) {
    const below = k < bounds.length ? bounds[k]! - 1 : undefined;
    const from = k > 0 ? bounds[k - 1]! : undefined;
    const terms: PortExpression[] = [];
    // max(l, r) >= from: either port reaches it.
    if (from !== undefined)
      terms.push({ any: [{ localPort: { min: from } }, { remotePort: { min: from } }] });
    // max(l, r) <= below: both ports stay under.
    if (below !== undefined) terms.push({ localPort: { max: below }, remotePort: { max: below } });
    expressions.push(terms.length === 1 ? terms[0]! : { all: terms });
  }
  return expressions;
}

/**
 * Interleaves several async streams, yielding items in the order they come.
 * Each source is pulled again as soon as its item is handed out, so every
 * part keeps its kernel walk busy while the caller works. When one source
 * fails or the caller stops early, the others are closed.
 */
export async function* mergeStreams<T>(sources: AsyncGenerator<T>[]): AsyncGenerator<T> {
  type Step = { index: number; result: IteratorResult<T> };
  const pending = new Map<number, Promise<Step>>();
  const pull = (index: number) => {
    const step = sources[index]!.next().then((result) => ({ index, result }));
    // A failure is re-thrown by the race below; meanwhile it is not unhandled.
    step.catch(() => {});
    pending.set(index, step);
  };
  sources.forEach((_, index) => pull(index));
  let finished = false;
  try {
    while (pending.size > 0) {
      const { index, result } = await Promise.race(pending.values());
      if (result.done) {
        pending.delete(index);
        continue;
      }
      pull(index);
      yield result.value;
    }
    finished = true;
  } finally {
    if (!finished) {
      // return() waits for a source's pending next(); a failed one is done already.
      await Promise.allSettled(sources.map((source) => source.return(undefined)));
    }
  }
}
