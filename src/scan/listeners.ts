// Listening TCP endpoints from a LISTEN-only dump, which skips the big
// table entirely (microseconds at any socket count). A listener's receive
// queue is its accept queue; its send queue is the effective backlog,
// min(listen() backlog, net.core.somaxconn).
import { type NamespaceHandle, Skmem, TcpState } from '../diag';
import type { SocketOwner } from '../owners';
import {
  type Endpoint,
  endpointKey,
  familyName,
  familyNumber,
  isWildcard,
  keyOf,
  parseEndpointKey,
} from './endpoint';
import type { TableScan } from './table-scan';
import { tcpDump } from './tcp-dump';

export interface Listener extends Endpoint {
  /** Sockets bound to this endpoint (more than one with SO_REUSEPORT). */
  sockets: number;
  /** The first socket's inode (for its process) and cgroup id (0 when the kernel sends none). */
  inode: number;
  cgroupId: number;
  /** Who holds it, when the owners were looked up. */
  owner?: SocketOwner;
  acceptQueue: number;
  acceptQueueLimit: number;
  drops: number;
  halfOpen?: number;
}

// Listeners are few: small batches, not the 16,384-row default's megabytes
// (allocated and zero-filled on the event loop whenever the pool holds none
// of that size: ~0.5 ms a dump, once per namespace per scrape).
const LISTENER_BATCH_ROWS = 512;

/** Dumps listeners, merging SO_REUSEPORT groups (same family, address, port). */
export async function dumpListeners(
  where: { netns?: string; namespace?: NamespaceHandle } = {},
): Promise<Listener[]> {
  const byEndpoint = new Map<string, Listener>();
  const options = {
    states: 1 << TcpState.Listen,
    extensions: { skmeminfo: true },
    // Listeners are few: small batches, not the 16,384-row default's MBs.
    batchSize: LISTENER_BATCH_ROWS,
    ...(where.netns ? { netns: where.netns } : {}),
    ...(where.namespace ? { namespace: where.namespace } : {}),
  };
  for await (const [batch, dump] of tcpDump(options)) {
    const c = batch.columns;
    for (let i = 0; i < batch.count; i++) {
      const address = batch.localAddress(i);
      const port = c.localPort[i]!;
      const key = endpointKey(c.family[i]!, address, port);
      let listener = byEndpoint.get(key);
      if (!listener) {
        const family = familyName(c.family[i]!);
        listener = {
          family,
          address,
          port,
          sockets: 0,
          acceptQueue: 0,
          acceptQueueLimit: 0,
          drops: 0,
          inode: c.inode[i]!,
          cgroupId: Number(c.cgroupId[i]!),
        };
        byEndpoint.set(key, listener);
      }
      listener.sockets++;
      listener.acceptQueue += c.receiveQueue[i]!;
      listener.acceptQueueLimit += c.sendQueue[i]!;
      if ((c.skmemLength?.[i] ?? 0) > Skmem.Drops) {
        listener.drops += c.skmem![i * Skmem.Vars + Skmem.Drops]!;
      }
    }
    dump.recycle(batch);
  }
  return [...byEndpoint.values()];
}

/**
 * Half-open (SYN_RECV) request sockets belong to the listener on their
 * local address, or to the wildcard listener of that port when no
 * address-specific one exists.
 */
export function attachHalfOpen(listeners: Listener[], scan: TableScan): void {
  const claimed = new Set<string>();
  for (const listener of listeners) {
    if (isWildcard(listener.address)) continue;
    const key = keyOf(listener);
    listener.halfOpen = scan.halfOpen.get(key) ?? 0;
    claimed.add(key);
  }
  for (const listener of listeners) {
    if (!isWildcard(listener.address)) continue;
    const family = familyNumber(listener.family);
    let count = 0;
    for (const [key, value] of scan.halfOpen) {
      const endpoint = parseEndpointKey(key);
      if (endpoint?.family === family && endpoint.port === listener.port && !claimed.has(key)) {
        count += value;
      }
    }
    listener.halfOpen = count;
  }
}
