// Socket-destroy events from TypeScript: every TCP socket the kernel frees
// in a namespace arrives here with its 4-tuple, cookie and tcp_info as of
// its end, in batches of the same columns as dumps (never an object per
// socket).
//
//   const subscriber = await DestroySubscriber.open({ netns: '/var/run/netns/web' });
//   for await (const batch of subscriber) { ... batch.columns.bytesAcked ... }
//   subscriber.stats(); // events, lost (queue and kernel drops), buffer size
//   subscriber.close();
//
// What a destroy event says, measured on Linux 6.18 (test/destroy-live.test.ts
// and the fixture test/fixtures/destroy-tcp.bin pin it):
//   - state is always CLOSE (7), in the message and in tcp_info; timer,
//     uid, inode and cgroupId are 0. The state never tells an abort from a
//     normal close.
//   - normal close (FIN both ways): bytes_acked counts our FIN (+1) and, on
//     the connecting side, our SYN (+1): client = sent + 2, server = sent + 1;
//     bytes_received counts the peer's FIN: the peer's bytes + 1.
//   - reset by the peer (RST received): no FIN either way, so bytes_acked =
//     sent (+1 for the SYN on the client), bytes_received = the peer's bytes.
//   - aborted here (close() with SO_LINGER 0): the kernel runs
//     tcp_disconnect() before freeing, which wipes the socket: remote port
//     0 (the remote address stays), local address 0 unless it was bound
//     explicitly, every tcp_info counter 0, sendQueue = the peer's max
//     window + 2 (65538 on loopback). Its bytes are lost.
//   - closed with unread data (the kernel sends RST): receiveQueue = the
//     unread bytes at destroy, tcp_info intact.
//   - timed out (retransmissions given up, e.g. TCP_USER_TIMEOUT): the
//     unacknowledged bytes stay in sendQueue, infoRetransmits and
//     totalRetrans are > 0 (tcpi_ca_state, not a column, is Loss).
//   - a listener's event has remote port 0 and sendQueue 0.
// An abort is thus visible only through these signatures, not as a state.
import { getSystemErrorName } from 'node:util';
import { FAMILIES, type FamilyName } from './constants';
import { fromNamespaceError, SockDiagError } from './errors';
import {
  addon,
  type NativeError,
  type NativeSubscriber,
  type NativeSubscriberParams,
  type NativeSubscriberStats,
} from './native';
import { SocketBatch } from './socket-batch';
import { describe, integerIn, knownKeys, oneOf, pathOption } from './validate';

export type DestroyProtocol = 'tcp' | 'udp';

export interface DestroySubscriberOptions {
  /** Default ['tcp']. UDP is opt-in: DNS traffic alone can flood it. */
  protocols?: DestroyProtocol[];
  /** Default both. */
  families?: FamilyName[];
  /** Subscribe inside this namespace (events come only from the subscriber's own). */
  netns?: string;
  /**
   * Receive buffer asked of the kernel (default 16 MiB). Granted as asked
   * with CAP_NET_ADMIN (SO_RCVBUFFORCE), else capped at net.core.rmem_max;
   * stats().receiveBufferBytes says what was granted.
   */
  receiveBufferBytes?: number;
  /** Rows per batch (default 512). */
  batchSize?: number;
  /** Batches held for a slow reader before events are dropped (default 8). */
  queueBatches?: number;
  /** A batch that is not full is handed out this long after its first event (default 100). */
  flushMs?: number;
}

export interface DestroySubscriberStats extends NativeSubscriberStats {
  /** Events that never reached a batch: queueDrops + kernelDrops. */
  lost: number;
}

// enum sknetlink_groups (linux/sock_diag.h), bound as 1 << (group - 1).
const GROUPS: Record<DestroyProtocol, Record<FamilyName, number>> = {
  tcp: { inet: 1, inet6: 3 },
  udp: { inet: 2, inet6: 4 },
};
const PROTOCOLS = { tcp: true, udp: true } as const;

const OPTION_KEYS = new Set([
  'protocols',
  'families',
  'netns',
  'receiveBufferBytes',
  'batchSize',
  'queueBatches',
  'flushMs',
]);

function nonEmptyList<T extends string>(
  value: unknown,
  table: Record<T, unknown>,
  name: string,
  fallback: T[],
): T[] {
  if (value === undefined) return fallback;
  if (!Array.isArray(value) || value.length === 0) {
    throw new TypeError(`Expected a non-empty array for ${name} but received ${describe(value)}`);
  }
  return value.map((item, index) => oneOf(item, table, `${name}[${index}]`));
}

/** Validates options (TypeError/RangeError naming the option) into addon params. */
export function resolveSubscriberOptions(
  options: DestroySubscriberOptions = {},
): NativeSubscriberParams {
  if (options === null || typeof options !== 'object') {
    throw new TypeError(`Expected an options object but received ${describe(options)}`);
  }
  knownKeys(options, OPTION_KEYS, 'destroy subscriber');
  const protocols = nonEmptyList(options.protocols, PROTOCOLS, 'protocols', ['tcp']);
  const families = nonEmptyList(options.families, FAMILIES, 'families', ['inet', 'inet6']);
  let groups = 0;
  for (const protocol of protocols) {
    for (const family of families) groups |= 1 << (GROUPS[protocol][family] - 1);
  }
  const params: NativeSubscriberParams = {
    groups,
    receiveBufferBytes: integerIn(
      options.receiveBufferBytes ?? 16 << 20,
      'receiveBufferBytes',
      1,
      1 << 30,
    ),
    batchRows: integerIn(options.batchSize ?? 512, 'batchSize', 1, 65536),
    queueBatches: integerIn(options.queueBatches ?? 8, 'queueBatches', 1, 1024),
    flushMs: integerIn(options.flushMs ?? 100, 'flushMs', 1, 60_000),
  };
  if (options.netns !== undefined) params.netns = pathOption(options.netns, 'netns');
  return params;
}

function fromSubscriberError(error: unknown, netns: string | undefined): Error {
  const raw = error as Partial<NativeError>;
  if (typeof raw?.errno !== 'number')
    return error instanceof Error ? error : new Error(String(error));
  const syscall = raw.syscall ?? '';
  if (netns && ['open', 'ioctl', 'setns'].includes(syscall))
    return fromNamespaceError(error, netns);
  const code = getSystemErrorName(-raw.errno);
  const advice =
    code === 'EPROTONOSUPPORT'
      ? 'this kernel lacks NETLINK_SOCK_DIAG (CONFIG_INET_DIAG): no destroy events here'
      : code === 'EMFILE' || code === 'ENFILE'
        ? 'out of file descriptors: raise the open files limit'
        : `the destroy-event subscriber failed${raw.detail ? ` (${raw.detail})` : ''}`;
  return new SockDiagError(`${code}: ${advice}${syscall ? ` [${syscall}]` : ''}`, {
    code,
    errno: -raw.errno,
    syscall,
    kind: 'system',
  });
}

export class DestroySubscriber implements AsyncIterable<SocketBatch> {
  private last: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(
    private readonly native: NativeSubscriber,
    readonly netns: string | undefined,
  ) {}

  /** Subscribes; resolves once the socket is bound (events from then on). */
  static async open(options: DestroySubscriberOptions = {}): Promise<DestroySubscriber> {
    const params = resolveSubscriberOptions(options);
    const native = new addon.Subscriber(params);
    try {
      await native.ready();
    } catch (error) {
      native.close();
      throw fromSubscriberError(error, params.netns);
    }
    return new DestroySubscriber(native, params.netns);
  }

  /**
   * The next batch of events, waiting for one; null once closed. Calls made
   * while one waits queue behind it.
   */
  next(): Promise<SocketBatch | null> {
    const result = this.last.then(() => this.fetch());
    this.last = result.catch(() => {});
    return result;
  }

  private async fetch(): Promise<SocketBatch | null> {
    if (this.closed) return null;
    try {
      const raw = await this.native.next();
      return raw === null ? null : new SocketBatch(raw.count, raw.columns);
    } catch (error) {
      throw fromSubscriberError(error, this.netns);
    }
  }

  stats(): DestroySubscriberStats {
    const stats = this.native.stats();
    return { ...stats, lost: stats.queueDrops + stats.kernelDrops };
  }

  /** Stops the receiver thread and closes the socket; a waiting next() gets null. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.native.close();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<SocketBatch> {
    try {
      for (;;) {
        const batch = await this.next();
        if (batch === null) return;
        yield batch;
      }
    } finally {
      this.close();
    }
  }
}
