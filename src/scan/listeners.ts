// Listening TCP endpoints from a LISTEN-only dump, which skips the big
// table entirely (microseconds at any socket count). A listener's receive
// queue is its accept queue; its send queue is the effective backlog,
// min(listen() backlog, net.core.somaxconn).
import { AF_INET6, type FamilyName, SKMEM } from '../diag';
import { tcpDump } from './tcp-dump';
import type { TableScan } from './table-scan';

export interface Listener {
  family: FamilyName;
  address: string;
  port: number;
  /** Sockets bound to this endpoint (more than one with SO_REUSEPORT). */
  sockets: number;
  acceptQueue: number;
  acceptQueueLimit: number;
  drops: number;
  halfOpen?: number;
}

const WILDCARDS = new Set(['0.0.0.0', '::']);

/** Dumps listeners, merging SO_REUSEPORT groups (same family, address, port). */
export async function dumpListeners(netns?: string): Promise<Listener[]> {
  const byEndpoint = new Map<string, Listener>();
  const options = {
    states: ['listen' as const],
    extensions: { skmeminfo: true },
    ...(netns ? { netns } : {}),
  };
  for await (const [batch] of tcpDump(options)) {
    const c = batch.columns;
    for (let i = 0; i < batch.count; i++) {
      const family = c.family[i] === AF_INET6 ? 'inet6' : 'inet';
      const address = batch.localAddress(i);
      const port = c.localPort[i]!;
      const key = `${family}|${address}|${port}`;
      let listener = byEndpoint.get(key);
      if (!listener) {
        listener = { family, address, port, sockets: 0, acceptQueue: 0, acceptQueueLimit: 0, drops: 0 };
        byEndpoint.set(key, listener);
      }
      listener.sockets++;
      listener.acceptQueue += c.receiveQueue[i]!;
      listener.acceptQueueLimit += c.sendQueue[i]!;
      if ((c.skmemLength?.[i] ?? 0) > SKMEM.drops) listener.drops += c.skmem![i * 9 + SKMEM.drops]!;
    }
  }
  return [...byEndpoint.values()];
}

/**
 * Half-open (SYN_RECV) request sockets belong to the listener on their
 * local address, or to the wildcard listener of that port when no
 * address-specific one exists.
 */
export function attachHalfOpen(listeners: Listener[], scan: TableScan): void {
  const familyNumber = { inet: '2', inet6: '10' };
  const claimed = new Set<string>();
  for (const listener of listeners) {
    const key = `${familyNumber[listener.family]}|${listener.address}|${listener.port}`;
    if (WILDCARDS.has(listener.address)) continue;
    listener.halfOpen = scan.halfOpen.get(key) ?? 0;
    claimed.add(key);
  }
  for (const listener of listeners) {
    if (!WILDCARDS.has(listener.address)) continue;
    let count = 0;
    for (const [key, value] of scan.halfOpen) {
      const [family, , port] = key.split('|');
      if (
        family === familyNumber[listener.family] &&
        Number(port) === listener.port &&
        !claimed.has(key)
      ) {
        count += value;
      }
    }
    listener.halfOpen = count;
  }
}
