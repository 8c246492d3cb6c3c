// TCP dumps of both families, in one walk of the socket hash when the
// kernel takes the legacy TCPDIAG_GETSOCK request (it returns both families;
// the walk is a dump's fixed cost: ~50 ms per 400k sockets, docs/KERNEL.md),
// else one v2 request per family.
import { Dump, type DumpOptions, type SockDiagError, type SocketBatch } from '../diag';

/** Learned once per process; null until tried. */
let legacyWorks: boolean | null = null;

/** Yields [batch, its dump] (for dump.recycle) over both families. */
export async function* tcpDump(
  options: Omit<DumpOptions, 'family' | 'protocol' | 'legacy'>,
): AsyncGenerator<[SocketBatch, Dump]> {
  if (legacyWorks !== false) {
    let rows = 0;
    try {
      const dump = new Dump({ ...options, protocol: 'tcp', legacy: true });
      for await (const batch of dump) {
        rows += batch.count;
        yield [batch, dump];
      }
      legacyWorks = true;
      return;
    } catch (error) {
      // A kernel that rejects the old request does so before any row.
      if (legacyWorks === true || rows > 0 || (error as SockDiagError).kind !== 'kernel') {
        throw error;
      }
      legacyWorks = false;
    }
  }
  for (const family of ['inet', 'inet6'] as const) {
    const dump = new Dump({ ...options, family, protocol: 'tcp' });
    for await (const batch of dump) yield [batch, dump];
  }
}
