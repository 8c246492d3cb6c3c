// Socket-destroy events built by hand, encoded as the kernel sends them
// (inet_diag_msg in state CLOSE, INET_DIAG_PROTOCOL, tcp_info) and parsed
// by the addon's pure parser into the batch a subscriber hands out: the
// closed-connection aggregation is tested on the same columns it reads live.
import pino from 'pino';
import { ClosedTracker, type EventSource } from '../../src/closed/tracker';
import { closedCollector } from '../../src/collectors/closed';
import type { MetricFamily } from '../../src/collectors/collector';
import { ScrapeSources } from '../../src/collectors/sources';
import type { DestroySubscriberStats } from '../../src/diag';
import { SocketBatch } from '../../src/diag/socket-batch';
import { addon } from '../../src/diag/native';
import { createCollector, sourceConfig } from './context';
import { ATTR, attribute, concat, row, type TcpInfoField, tcpInfo } from './nlbuild';

export interface DestroyEvent {
  sport: number;
  dport: number;
  rqueue?: number;
  wqueue?: number;
  /** 6 TCP (default) or 17 UDP (no tcp_info). */
  protocol?: number;
  family?: 2 | 10;
  /** tcp_info length (280 on 6.18); 0 sends none. */
  infoLength?: number;
  info?: Partial<Record<TcpInfoField, number>>;
}

const NO_RTT = 0xffffffff;

function encode(event: DestroyEvent): Uint8Array {
  const protocol = event.protocol ?? 6;
  const family = event.family ?? 2;
  const length = protocol === 6 ? (event.infoLength ?? 280) : 0;
  const attributes = [attribute(ATTR.protocol, new Uint8Array([protocol]))];
  if (length > 0) {
    attributes.push(attribute(ATTR.info, tcpInfo(length, { minRtt: NO_RTT, ...event.info })));
  }
  const address = family === 2 ? [127, 0, 0, 1] : [...new Array<number>(15).fill(0), 1];
  return row(
    0,
    {
      family,
      state: 7,
      sport: event.sport,
      dport: event.dport,
      src: address,
      dst: address,
      rqueue: event.rqueue ?? 0,
      wqueue: event.wqueue ?? 0,
      uid: 0,
      inode: 0,
      cookie: 0n,
    },
    attributes,
  );
}

/**
 * The parser run over destroy events as the subscriber runs it (no dump:
 * any family, protocol and state; the protocol from its attribute).
 */
export function parseDestroyEvents(
  bytes: Uint8Array,
  options: { batchRows?: number; groups?: number; protocol?: number; seq?: number } = {},
) {
  return addon.parse(bytes, {
    family: 0,
    protocol: options.protocol ?? 0,
    states: 0,
    extensions: 0,
    legacy: false,
    timeoutMs: 1000,
    batchRows: options.batchRows ?? 64,
    groups: options.groups ?? 1,
    seq: options.seq ?? 0,
    protocolFromAttribute: options.protocol === undefined,
  });
}

/** One batch of `events`, in order. */
export function destroyBatch(events: DestroyEvent[]): SocketBatch {
  const result = parseDestroyEvents(concat(...events.map(encode)), {
    batchRows: Math.max(events.length, 1),
  });
  if (result.count !== events.length) {
    throw new Error(`parsed ${result.count} of ${events.length} events (${result.status})`);
  }
  return new SocketBatch(result.count, result.columns);
}

/**
 * Both ends of a loopback connection that carried `up` bytes from the
 * client and `down` back, as the kernel reports them after each kind of
 * ending (test/live/destroy-live.test.ts measured these on 6.18).
 */
export function connectionEnds(
  kind: 'fin' | 'client-reset' | 'server-reset' | 'unread',
  service: number,
  client: number,
  up: number,
  down: number,
): DestroyEvent[] {
  const rtt = { minRtt: 20 };
  const segments = { segsOut: 5, segsIn: 4 };
  const sent = (bytes: number, acked: number, received: number) => ({
    ...rtt,
    ...segments,
    bytesSent: bytes,
    bytesAcked: acked,
    bytesReceived: received,
  });
  // tcp_disconnect() wiped it: no remote port, no counters, min_rtt kept.
  const wiped = (port: number): DestroyEvent => ({
    sport: port,
    dport: 0,
    wqueue: 65538,
    info: rtt,
  });
  switch (kind) {
    case 'fin':
      return [
        { sport: client, dport: service, rqueue: 1, info: sent(up, up + 2, down + 1) },
        { sport: service, dport: client, info: sent(down, down + 1, up + 1) },
      ];
    case 'client-reset': // the client closes with SO_LINGER 0
      return [wiped(client), { sport: service, dport: client, info: sent(down, down, up) }];
    case 'server-reset':
      return [wiped(service), { sport: client, dport: service, info: sent(up, up + 1, down) }];
    case 'unread': // the server closes without reading: RST
      return [
        { sport: service, dport: client, rqueue: up, info: sent(0, 0, up) },
        { sport: client, dport: service, info: sent(up, up + 1, 0) },
      ];
  }
}

/** Hands out queued batches; `fail()` makes the waiting next() reject. */
export class FakeSource implements EventSource {
  private readonly queue: SocketBatch[] = [];
  private waiting: { resolve(b: SocketBatch | null): void; reject(e: Error): void } | null = null;
  closed = false;
  counts: Partial<DestroySubscriberStats> = {};

  push(batch: SocketBatch): void {
    if (this.waiting) {
      this.waiting.resolve(batch);
      this.waiting = null;
    } else this.queue.push(batch);
  }

  fail(error: Error): void {
    this.waiting?.reject(error);
    this.waiting = null;
  }

  next(): Promise<SocketBatch | null> {
    if (this.closed) return Promise.resolve(null);
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
    });
  }

  stats(): DestroySubscriberStats {
    return {
      events: 0,
      batches: 0,
      datagrams: 0,
      bytes: 0,
      queueDrops: 0,
      kernelDrops: 0,
      overruns: 0,
      malformed: 0,
      queued: 0,
      receiveBufferBytes: 2 << 20,
      receiveBufferForced: false,
      lost: 0,
      ...this.counts,
    };
  }

  close(): void {
    this.closed = true;
    this.waiting?.resolve(null);
    this.waiting = null;
  }
}

/**
 * The closed collector's families over canned events (a TCP connection
 * and a UDP socket), every family it can serve: for tests that need its
 * output without a subscription.
 */
export async function cannedClosedFamilies(): Promise<MetricFamily[]> {
  const source = new FakeSource();
  source.push(
    destroyBatch([
      ...connectionEnds('fin', 8080, 40000, 10, 10),
      { sport: 50000, dport: 53, protocol: 17 },
    ]),
  );
  const tracker = new ClosedTracker({
    udp: true,
    portsLimit: 16,
    receiveBufferBytes: 1 << 20,
    listenerPorts: async () => [8080],
    portRange: async () => ({ range: [32768, 60999], known: true }),
    log: pino({ level: 'silent' }),
    subscribe: async () => source,
  });
  try {
    await tracker.start();
    await new Promise((resolve) => setImmediate(resolve));
    const sources = new ScrapeSources({ ...sourceConfig(), closed: tracker }, false);
    const collector = createCollector(closedCollector, { udp: true });
    return await collector.collect({ log: pino({ level: 'silent' }), sources, now: Date.now() });
  } finally {
    tracker.close();
  }
}
