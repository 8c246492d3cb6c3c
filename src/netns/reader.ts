// A namespace's counters and settings, read on the addon's private thread
// inside the namespace: /proc/thread-self/net/* and /proc/sys/net/* answer
// for the namespace of the thread that opens them. Reads asked for in the
// same turn of the event loop, by every namespace, go in one trip.
import { type NamespaceFile, type NamespaceHandle, readNamespacesFiles } from '../diag';
import { readSnmpFiles } from '../procfs/netstat';
import type { FileReader } from '../procfs/read';
import { readSockstatFiles } from '../procfs/sockstat';
import { readPortRange, readSysctlValues } from '../procfs/sysctl';
import type { SourceReader } from '../collectors/sources';

interface QueuedRead {
  path: string;
  resolve: (text: string | null) => void;
  reject: (e: Error) => void;
}

/**
 * The reads of one turn of the event loop, from every namespace, in one
 * readNamespacesFiles call: one private thread enters each namespace in
 * turn. (One call per namespace cost a pool job and a thread each, ~0.35 ms
 * of the event loop's time per namespace per scrape on a 2-CPU node.)
 */
export class NamespaceReadBatcher {
  private queued = new Map<NamespaceHandle, QueuedRead[]>();
  private scheduled = false;

  /** The FileReader of one namespace: its reads join the turn's trip. */
  reader(handle: NamespaceHandle): FileReader {
    return (path) =>
      new Promise((resolve, reject) => {
        let list = this.queued.get(handle);
        if (!list) this.queued.set(handle, (list = []));
        list.push({ path, resolve, reject });
        if (!this.scheduled) {
          this.scheduled = true;
          setImmediate(() => void this.flush());
        }
      });
  }

  private async flush(): Promise<void> {
    const batch = [...this.queued];
    this.queued = new Map();
    this.scheduled = false;
    if (batch.length === 0) return;
    let results: (NamespaceFile[] | Error)[];
    try {
      results = await readNamespacesFiles(
        batch.map(([netns, reads]) => ({ netns, files: reads.map((read) => read.path) })),
      );
    } catch (error) {
      for (const [, reads] of batch) for (const read of reads) read.reject(error as Error);
      return;
    }
    batch.forEach(([, reads], i) => settle(reads, results[i]!));
  }
}

function settle(reads: readonly QueuedRead[], result: NamespaceFile[] | Error): void {
  if (result instanceof Error) {
    for (const read of reads) read.reject(result);
    return;
  }
  reads.forEach((read, i) => {
    const file = result[i];
    if (file?.content !== undefined) read.resolve(file.content);
    else if (file?.code === 'ENOENT' || file?.code === 'ENOTDIR') read.resolve(null);
    else {
      const error = new Error(
        `${read.path}: ${file?.code ?? 'unreadable'}`,
      ) as NodeJS.ErrnoException;
      if (file?.code) error.code = file.code;
      read.reject(error);
    }
  });
}

/** The process's batcher: every namespace reader shares its trips. */
const shared = new NamespaceReadBatcher();

/** Reads of one namespace, in the shared trip of their turn. */
export function batchedReader(handle: NamespaceHandle): FileReader {
  return shared.reader(handle);
}

/**
 * Keeps what `read` resolved with for `maxAgeMs` (0: never): one read in
 * flight at a time. A failure is not kept, nor a value `sound` rejects (a
 * sysctl that could not be read is tried again at the next call, not
 * reported as unreadable for a minute).
 */
export function kept<T>(
  read: () => Promise<T>,
  maxAgeMs: number,
  clock: () => number,
  sound: (value: T) => boolean = () => true,
): () => Promise<T> {
  if (maxAgeMs <= 0) return read;
  let value: Promise<T> | undefined;
  let readAt = 0;
  return () => {
    if (value && clock() - readAt < maxAgeMs) return value;
    readAt = clock();
    const pending = read();
    value = pending;
    const forget = () => {
      if (value === pending) value = undefined;
    };
    pending.then((result) => {
      if (!sound(result)) forget();
    }, forget);
    return pending;
  };
}

export interface NamespaceReaderOptions {
  /** Only these counters ("TcpExt.ListenDrops"): only their groups are parsed. */
  counters?: ReadonlySet<string>;
  /**
   * How long a namespace's sysctls (and port range) are kept before they
   * are read again; 0 reads them every time. They change rarely, and each
   * of the ~22 is a file of its own inside the namespace: ~16 us of kernel
   * time apiece, a third of the cheap tier's cost read every scrape.
   */
  sysctlMaxAgeMs?: number;
  clock?: () => number;
}

/**
 * The reader for one namespace: everything from the addon's private thread
 * inside it (/proc/thread-self/net/* and /proc/sys/net/* answer for the
 * namespace of the thread that opens them), the reads of one turn in one
 * trip. Not /proc/PID/net of a process found in it: that process may have
 * exited since (a container restarting in its pinned sandbox) or its pid
 * gone to a process of another namespace, and the one trip costs less CPU
 * than the main thread's reads of five files besides it.
 */
export function namespaceReader(
  handle: NamespaceHandle,
  { counters, sysctlMaxAgeMs = 0, clock = () => performance.now() }: NamespaceReaderOptions = {},
): SourceReader {
  const inside = batchedReader(handle);
  const net: [string, FileReader] = ['/proc/thread-self', inside];
  // Only some counters: only their groups are parsed, and snmp6 is read
  // only if one of them is IPv6's.
  const groups = counters ? new Set([...counters].map((key) => key.split('.')[0]!)) : undefined;
  const snmp6 = !groups || [...groups].some((group) => group.endsWith('6'));
  return {
    snmpFiles: () => readSnmpFiles(...net, { snmp6, ...(groups ? { groups } : {}) }),
    sockstatFiles: () => readSockstatFiles(...net),
    sysctls: kept(
      () => readSysctlValues('/proc', inside),
      sysctlMaxAgeMs,
      clock,
      (values) => values.problems.length === 0,
    ),
    portRange: kept(
      () => readPortRange('/proc', inside),
      sysctlMaxAgeMs,
      clock,
      (p) => p.known,
    ),
  };
}
