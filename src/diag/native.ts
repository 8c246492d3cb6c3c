// Loads the C++ addon and describes what it hands back. Nothing here runs
// per socket.
import fs from 'node:fs';
import path from 'node:path';

/** Column name -> typed array. Views of one ArrayBuffer per batch. */
export interface BaseColumns {
  family: Uint8Array;
  protocol: Uint16Array;
  state: Uint8Array;
  timer: Uint8Array;
  retransmits: Uint8Array;
  shutdown: Uint8Array;
  /** Milliseconds until the timer fires. */
  expires: Uint32Array;
  /** LISTEN: accept queue length; others: unread bytes (TCP) or skb memory (UDP). */
  receiveQueue: Uint32Array;
  /** LISTEN: accept queue limit (backlog); others: unacked+unsent bytes. */
  sendQueue: Uint32Array;
  uid: Uint32Array;
  inode: Uint32Array;
  interfaceIndex: Uint32Array;
  cookie: BigUint64Array;
  /**
   * cgroup v2 id of the socket's owner (the inode of its cgroup directory
   * under the cgroup2 mount); 0 when the kernel did not say: before 5.8,
   * cgroup v1 only, TIME_WAIT and SYN_RECV rows, destroy events.
   */
  cgroupId: BigUint64Array;
  /** 16 bytes per socket, network order; IPv4 in the first 4. */
  localAddress: Uint8Array;
  remoteAddress: Uint8Array;
  localPort: Uint16Array;
  remotePort: Uint16Array;
}

/** tcp_info fields (extension `info`); a field is real only if tcpInfoLength covers it. */
export interface InfoColumns {
  tcpInfoLength: Uint16Array;
  /** Microseconds. */
  rtt: Uint32Array;
  rttVar: Uint32Array;
  minRtt: Uint32Array;
  rto: Uint32Array;
  sndCwnd: Uint32Array;
  infoRetransmits: Uint8Array;
  /** Keepalive or zero-window probes sent unanswered (icsk_probes_out). */
  probes: Uint8Array;
  /** Retransmission timer backoff exponent: retries that already failed. */
  backoff: Uint8Array;
  /** TCPI_OPT_* bits: 1 timestamps, 2 SACK, 4 window scaling, 8 ECN... */
  infoOptions: Uint8Array;
  totalRetrans: Uint32Array;
  lost: Uint32Array;
  unacked: Uint32Array;
  /** Milliseconds since. */
  lastDataSent: Uint32Array;
  lastDataRecv: Uint32Array;
  lastAckRecv: Uint32Array;
  notsentBytes: Uint32Array;
  /** Segments sent and received, retransmissions and pure ACKs included (4.2+). */
  segsOut: Uint32Array;
  segsIn: Uint32Array;
  bytesAcked: Float64Array;
  bytesReceived: Float64Array;
  /** Payload bytes sent, retransmissions included, and those retransmitted (4.19+). */
  bytesSent: Float64Array;
  bytesRetrans: Float64Array;
  /** Bytes per second. */
  deliveryRate: Float64Array;
  pacingRate: Float64Array;
}

export interface SkmemColumns {
  /** How many of the nine values the kernel sent (0 = none). */
  skmemLength: Uint8Array;
  /** Nine values per socket, in SK_MEMINFO_* order (see SKMEM). */
  skmem: Uint32Array;
}

export interface MeminfoColumns {
  meminfoLength: Uint8Array;
  /** Four values per socket: rmem, wmem, fmem, tmem. */
  meminfo: Uint32Array;
}

export type Columns = BaseColumns &
  Partial<InfoColumns> &
  Partial<SkmemColumns> &
  Partial<MeminfoColumns>;

export interface RawBatch {
  count: number;
  columns: Columns;
}

/** A dump's batch as the addon hands it over: JavaScript makes the views (columns.ts). */
export interface RawDumpBatch {
  count: number;
  buffer: ArrayBuffer;
  /** The dump ended in the fill that made this batch. */
  last: boolean;
}

export interface NativeDumpParams {
  family: number;
  protocol: number;
  states: number;
  extensions: number;
  legacy: boolean;
  bytecode?: Uint8Array;
  netns?: string;
  /** A NamespaceHandle from addon.openNamespace(). */
  namespace?: NativeNamespace;
  timeoutMs: number;
  batchRows: number;
  groups: number;
  /** Column mask (bit = index in the column list; family always in); absent: all. */
  columns?: number;
}

export interface NativeDumpStats {
  datagrams: number;
  bytes: number;
  rows: number;
  skippedMessages: number;
  /** A receiver thread ran: the dump took more than one datagram (one is received on the worker). */
  receiverThread: boolean;
}

export interface NativeDump {
  next(): Promise<RawDumpBatch | null>;
  /** Hands a batch's buffer back for reuse by a later fill. */
  recycle(buffer: ArrayBufferLike): void;
  /** Resolves once the dump has let go of its socket. */
  close(): Promise<void>;
  stats(): NativeDumpStats;
}

export interface NativeParseResult extends RawBatch {
  status: 'continue' | 'batch-full' | 'done' | 'kernel-error' | 'malformed';
  offset: number;
  errno: number;
  detail: string;
  skippedMessages: number;
}

/** The raw error the addon rejects with; errors.ts turns it into a SockDiagError. */
export interface NativeError extends Error {
  errno: number;
  syscall: string;
  kind: 'system' | 'kernel' | 'malformed';
  detail: string;
}

export interface NativeSubscriberParams {
  /** nl_groups bits: 1 << (SKNLGRP_* - 1). */
  groups: number;
  netns?: string;
  receiveBufferBytes: number;
  batchRows: number;
  queueBatches: number;
  flushMs: number;
}

export interface NativeSubscriberStats {
  /** Events put into batches for JavaScript. */
  events: number;
  batches: number;
  datagrams: number;
  bytes: number;
  /** Events dropped because every queued batch waited for a reader. */
  queueDrops: number;
  /** Events the kernel dropped, receive buffer full (the socket's sk_drops). */
  kernelDrops: number;
  /** ENOBUFS reports (each covers one or more kernel drops). */
  overruns: number;
  /** Datagrams that did not parse (skipped). */
  malformed: number;
  /** Batches waiting to be taken. */
  queued: number;
  /** The receive buffer the kernel granted (it doubles what was asked). */
  receiveBufferBytes: number;
  /** True when SO_RCVBUFFORCE (CAP_NET_ADMIN) set it past net.core.rmem_max. */
  receiveBufferForced: boolean;
}

export interface NativeSubscriber {
  ready(): Promise<void>;
  next(): Promise<RawBatch | null>;
  stats(): NativeSubscriberStats;
  close(): void;
}

/** One long-lived sock_diag socket inside a network namespace. */
export interface NativeNamespace {
  readonly inode: number;
  readonly path: string;
  close(): void;
}

/** A file read whole (its content), cut at maxBytes, or not read. */
export type NativeFileRead =
  | string
  | { content: string; truncated: true; errno?: undefined }
  | {
      /** Positive errno. */
      errno: number;
      syscall: string;
    };

/** One entry of the addon's column list (native/columns.h). */
export interface NativeColumn {
  name: string;
  array: 'Uint8Array' | 'Uint16Array' | 'Uint32Array' | 'BigUint64Array' | 'Float64Array';
  width: number;
  group: 'base' | 'info' | 'skmem' | 'meminfo';
}

interface Addon {
  Dump: new (params: NativeDumpParams) => NativeDump;
  /**
   * The pure parser over captured bytes. `protocolFromAttribute` reads each
   * row's protocol from INET_DIAG_PROTOCOL, as socket-destroy events need.
   */
  parse(
    bytes: Uint8Array,
    params: NativeDumpParams & { seq: number; protocolFromAttribute?: boolean },
  ): NativeParseResult;
  tcpInfoFieldEnds: Record<keyof Omit<InfoColumns, 'tcpInfoLength'>, number>;
  columns: NativeColumn[];
  Subscriber: new (params: NativeSubscriberParams) => NativeSubscriber;
  openNamespace(path: string): Promise<NativeNamespace>;
  readNamespaceFiles(
    netns: string | NativeNamespace,
    files: readonly string[],
    maxBytes: number,
  ): Promise<NativeFileRead[]>;
  readNamespacesFiles(
    requests: [string | NativeNamespace, readonly string[]][],
    maxBytes: number,
  ): Promise<(NativeFileRead[] | Error)[]>;
}

/** The package root: the nearest folder up from here holding binding.gyp (src/ or dist/src/). */
function packageRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'binding.gyp'))) {
    const parent = path.dirname(dir);
    if (parent === dir) return path.join(__dirname, '..', '..');
    dir = parent;
  }
  return dir;
}

// node-gyp-build ships no types; this is the one call used.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const nodeGypBuild = require('node-gyp-build') as { path(dir: string): string };

/**
 * The addon file to load: SOCKDIAG_ADDON when set (tests use it for the Debug
 * build), else what node-gyp-build picks: a local build (build/Release, then
 * build/Debug) before the Node-API prebuild that the npm tarball carries
 * (prebuilds/linux-x64/), so a developer's compiled tree always wins.
 */
function addonFile(): string {
  const override = process.env.SOCKDIAG_ADDON;
  if (override) return override;
  const root = packageRoot();
  try {
    return nodeGypBuild.path(root);
  } catch (error) {
    throw new Error(
      `The sockdiag native addon is neither built nor prebuilt for this platform (looked under ${root}): ` +
        `run \`npm ci\` or \`npm run build\` there (needs a C++17 compiler, make and python3). ` +
        `Cause: ${String(error).trim()}`,
    );
  }
}

function loadAddon(): Addon {
  const file = addonFile();
  try {
    // A native addon can only be loaded with require().
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(file) as Addon;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw error;
    throw new Error(
      `The sockdiag native addon ${file} is missing: run \`npm ci\` or \`npm run build\`, ` +
        `or unset SOCKDIAG_ADDON. Cause: ${String(error)}`,
    );
  }
}

export const addon: Addon = loadAddon();
