// Flattens dumped batches into plain rows for assertions (tests only: the
// exporter never builds an object per socket).
import { type DumpSocketsOptions, dumpSockets, Skmem } from '../../src/diag';
import { normaliseAddress, type SsRow } from './ss';

/** A dumped socket in the shape of an ss row, with what only the dump has. */
export interface DumpRow extends SsRow {
  family: number;
  protocol: number;
  timer: string;
  rtt?: number;
  tcpInfoLength?: number;
}

export async function dumpRows(options: DumpSocketsOptions): Promise<DumpRow[]> {
  const rows: DumpRow[] = [];
  for await (const batch of dumpSockets(options)) {
    const c = batch.columns;
    for (let i = 0; i < batch.count; i++) {
      const row: DumpRow = {
        family: c.family[i]!,
        protocol: c.protocol[i]!,
        state: batch.stateName(i),
        timer: batch.timerName(i),
        recvQ: c.receiveQueue[i]!,
        sendQ: c.sendQueue[i]!,
        local: normaliseAddress(batch.localAddress(i)),
        localPort: c.localPort[i]!,
        peer: normaliseAddress(batch.remoteAddress(i)),
        peerPort: c.remotePort[i]!,
      };
      if (c.tcpInfoLength) {
        row.tcpInfoLength = c.tcpInfoLength[i]!;
        row.rtt = c.rtt![i]!;
      }
      if (c.skmem && c.skmemLength![i]! > 0) {
        const base = i * 9;
        row.skmem = {
          r: c.skmem[base + Skmem.RmemAlloc]!,
          rb: c.skmem[base + Skmem.Rcvbuf]!,
          t: c.skmem[base + Skmem.WmemAlloc]!,
          tb: c.skmem[base + Skmem.Sndbuf]!,
          f: c.skmem[base + Skmem.FwdAlloc]!,
          w: c.skmem[base + Skmem.WmemQueued]!,
          o: c.skmem[base + Skmem.Optmem]!,
          bl: c.skmem[base + Skmem.Backlog]!,
          d: c.skmem[base + Skmem.Drops]!,
        };
      }
      rows.push(row);
    }
  }
  return rows;
}
