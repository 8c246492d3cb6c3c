// The TypeScript face of the native dump: validated options in, batches of
// columns out, off the event loop. `for await (const batch of dumpSockets())`.
import { compilePortFilter, type PortExpression } from './bytecode';
import {
  ALL_COLUMNS,
  batchLayout,
  type ColumnName,
  type ColumnSlot,
  columnMask,
  columnViews,
} from './columns';
import {
  COLUMN_GROUPS,
  DEFAULT_STATE_MASK,
  EXTENSION_BITS,
  FAMILIES,
  type FamilyName,
  PROTOCOLS,
  type ProtocolName,
  type RequestStateName,
  STATE,
} from './constants';
import { closedError, type DumpContext, fromNativeError } from './errors';
import { NamespaceHandle } from './namespace';
import { addon, type NativeDumpParams, type NativeDumpStats } from './native';
import { SocketBatch } from './socket-batch';
import { describe, integerIn, knownKeys, oneOf, pathOption } from './validate';

export interface Extensions {
  /** tcp_info: RTT, cwnd, retransmits, idle times (TCP only; costs a socket lock each). */
  info?: boolean;
  /** skmeminfo: socket memory and drops (per-listener drops on LISTEN sockets). */
  skmeminfo?: boolean;
  /** inet_diag_meminfo. */
  meminfo?: boolean;
}

export interface DumpOptions {
  family?: FamilyName;
  protocol?: ProtocolName;
  /** A mask of 1 << state, or state names. Default 0xfff (never ~0). */
  states?: number | RequestStateName[];
  extensions?: Extensions;
  /** Kernel-side filter on local and remote ports (and/or/not of them). */
  filter?: PortExpression;
  /** Path to a network namespace (e.g. /var/run/netns/NAME); default: our own. */
  netns?: string;
  /**
   * A handle from openNamespace(): the dump runs on its long-lived socket
   * instead of opening one (dumps on one handle take turns). Not with netns.
   */
  namespace?: NamespaceHandle;
  /** Rows per batch (default 16384). */
  batchSize?: number;
  /** Give up when the kernel is silent this long (default 30000). */
  timeoutMs?: number;
  /**
   * TCP only: use the legacy TCPDIAG_GETSOCK request, which returns both
   * families from one walk of the socket hash (`family` is then ignored).
   */
  legacy?: boolean;
  /**
   * Only these columns are written and handed out (family always is): a
   * scan that reads a dozen of the ~45 columns saves the parser the other
   * stores and the batch their memory. A column of a group not asked for
   * (`extensions`) is absent as before. Include tcpInfoLength / skmemLength
   * with their group's columns: they say which rows carry them. Default: all.
   */
  columns?: readonly ColumnName[];
}

export interface DumpSocketsOptions extends Omit<DumpOptions, 'family' | 'protocol'> {
  families?: FamilyName[];
  protocols?: ProtocolName[];
}

const OPTION_KEYS = new Set([
  'family',
  'protocol',
  'states',
  'extensions',
  'filter',
  'netns',
  'namespace',
  'batchSize',
  'timeoutMs',
  'legacy',
  'columns',
]);

export function stateMask(states: DumpOptions['states']): number {
  if (states === undefined) return DEFAULT_STATE_MASK;
  if (typeof states === 'number') {
    const mask = integerIn(states, 'states', 1, 0xffffffff);
    return mask >>> 0;
  }
  if (!Array.isArray(states) || states.length === 0) {
    throw new TypeError(`Expected a state mask or a non-empty array of state names for states`);
  }
  let mask = 0;
  for (const [index, name] of states.entries()) {
    mask |= 1 << STATE[oneOf(name, STATE, `states[${index}]`)];
  }
  return mask >>> 0;
}

export interface ResolvedDump {
  params: NativeDumpParams;
  context: DumpContext;
  handle: NamespaceHandle | undefined;
}

/** Validates options (TypeError/RangeError naming the option) into addon params. */
export function resolveDumpOptions(options: DumpOptions = {}): ResolvedDump {
  if (options === null || typeof options !== 'object') {
    throw new TypeError(`Expected an options object but received ${describe(options)}`);
  }
  knownKeys(options, OPTION_KEYS, 'dump');
  const family = oneOf(options.family ?? 'inet', FAMILIES, 'family');
  const protocol = oneOf(options.protocol ?? 'tcp', PROTOCOLS, 'protocol');
  const extensions = options.extensions ?? {};
  if (extensions === null || typeof extensions !== 'object') {
    throw new TypeError(`Expected an object for extensions but received ${describe(extensions)}`);
  }
  let extensionBits = 0;
  let groups = 0;
  for (const key of Object.keys(extensions) as (keyof Extensions)[]) {
    if (!Object.hasOwn(EXTENSION_BITS, key)) {
      throw new TypeError(`Unknown extension ${key}: expected info, skmeminfo or meminfo`);
    }
    const on = extensions[key];
    if (typeof on !== 'boolean') {
      throw new TypeError(`Expected a boolean for extensions.${key} but received ${describe(on)}`);
    }
    if (on) {
      extensionBits |= EXTENSION_BITS[key];
      groups |= COLUMN_GROUPS[key];
    }
  }
  const legacy = options.legacy ?? false;
  if (typeof legacy !== 'boolean') {
    throw new TypeError(`Expected a boolean for legacy but received ${describe(legacy)}`);
  }
  if (legacy && protocol !== 'tcp') {
    throw new RangeError(`legacy requests exist for tcp only, not ${protocol}`);
  }
  if (options.netns !== undefined) pathOption(options.netns, 'netns');
  const handle = options.namespace;
  if (handle !== undefined) {
    if (!(handle instanceof NamespaceHandle)) {
      throw new TypeError(
        `Expected a NamespaceHandle from openNamespace() for namespace but received ${describe(handle)}`,
      );
    }
    if (options.netns !== undefined) {
      throw new TypeError(
        'netns and namespace are exclusive: the handle already names the namespace',
      );
    }
    if (handle.closed)
      throw closedError({ family, protocol, netns: handle.path }, 'namespace handle');
  }
  const params: NativeDumpParams = {
    // AF_UNSPEC makes the legacy request return both families in one walk.
    family: legacy ? 0 : FAMILIES[family],
    protocol: PROTOCOLS[protocol],
    states: stateMask(options.states),
    extensions: extensionBits,
    legacy,
    timeoutMs: integerIn(options.timeoutMs ?? 30000, 'timeoutMs', 1, 3_600_000),
    batchRows: integerIn(options.batchSize ?? 16384, 'batchSize', 1, 1 << 20),
    groups,
  };
  if (options.columns !== undefined) {
    if (!Array.isArray(options.columns)) {
      throw new TypeError(
        `Expected an array of column names for columns but received ${describe(options.columns)}`,
      );
    }
    params.columns = columnMask(options.columns);
  }
  const bytecode = compilePortFilter(options.filter);
  if (bytecode) params.bytecode = bytecode;
  if (options.netns) params.netns = options.netns;
  if (handle) params.namespace = handle.native;
  return {
    params,
    context: {
      family: legacy ? 'inet+inet6' : family,
      protocol,
      netns: handle ? handle.path : options.netns,
    },
    handle,
  };
}

/**
 * One dump: an async iterator of batches. The next batch is requested as
 * soon as one is handed out, so the kernel walk (the addon's receiver
 * thread) overlaps with whatever the caller does with the batch (main thread).
 */
export class Dump implements AsyncIterable<SocketBatch> {
  readonly context: DumpContext;
  private readonly native;
  private readonly handle: NamespaceHandle | undefined;
  private readonly layout: readonly ColumnSlot[];
  private closed = false;
  /** Settles once the addon has let go of the socket (a handle's next dump waits for it). */
  private released: Promise<void> = Promise.resolve();

  constructor(options: DumpOptions = {}) {
    const { params, context, handle } = resolveDumpOptions(options);
    this.context = context;
    this.handle = handle;
    this.layout = batchLayout(params.batchRows, params.groups, params.columns ?? ALL_COLUMNS);
    this.native = new addon.Dump(params);
  }

  stats(): NativeDumpStats {
    return this.native.stats();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.released = this.native.close();
  }

  /**
   * Says the caller is done with `batch`: its memory may be reused for a
   * later batch of this or any other dump (also after this one ended),
   * overwriting its columns. Saves an allocation, its zero-filling and its
   * garbage collection per batch. Optional.
   */
  recycle(batch: SocketBatch): void {
    this.native.recycle(batch.columns.family.buffer);
  }

  private async fetch(): Promise<{ batch: SocketBatch; last: boolean } | null> {
    if (this.closed) throw closedError(this.context);
    try {
      const raw = await this.native.next();
      if (raw === null) return null;
      const batch = new SocketBatch(raw.count, columnViews(this.layout, raw.buffer, raw.count));
      return { batch, last: raw.last };
    } catch (error) {
      throw fromNativeError(error, this.context);
    }
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<SocketBatch> {
    // Once the first batch shows the dump goes on, two fills stay queued
    // (the addon orders them by ticket), so the kernel walk goes on while
    // the caller works on a batch and while the finished fill's result
    // crosses to the main thread. A dump that ends in its first fill (a
    // LISTEN dump, a small namespace) costs one fill, not three.
    const queue: Promise<{ batch: SocketBatch; last: boolean } | null>[] = [];
    const request = () => {
      const next = this.fetch();
      // A rejection while the caller works on a batch is re-thrown when its
      // turn comes; keep Node from calling it unhandled meanwhile.
      next.catch(() => {});
      queue.push(next);
    };
    // Dumps on one namespace handle take turns: the kernel runs one dump
    // at a time per socket.
    const release = this.handle ? await this.handle.turn() : undefined;
    try {
      request();
      for (let first = true; ; first = false) {
        const filled = await queue.shift()!;
        if (filled === null) return;
        if (!filled.last) {
          request();
          if (first) request();
        }
        yield filled.batch;
        if (filled.last) return;
      }
    } finally {
      this.close();
      if (release) {
        await this.released;
        release();
      }
    }
  }
}

/** Dumps each (family, protocol) in turn: `for await (const batch of dumpSockets(opts))`. */
export async function* dumpSockets(options: DumpSocketsOptions = {}): AsyncGenerator<SocketBatch> {
  const { families = ['inet', 'inet6'], protocols = ['tcp', 'udp'], ...rest } = options;
  if (!Array.isArray(families) || families.length === 0) {
    throw new TypeError('Expected a non-empty array for families');
  }
  if (!Array.isArray(protocols) || protocols.length === 0) {
    throw new TypeError('Expected a non-empty array for protocols');
  }
  for (const protocol of protocols) {
    if (rest.legacy && protocol === 'tcp') {
      yield* new Dump({ ...rest, protocol });
      continue;
    }
    for (const family of families) {
      yield* new Dump({ ...rest, family, protocol, legacy: false });
    }
  }
}
