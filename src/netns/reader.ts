// A namespace's counters and settings, read on the addon's private thread
// inside the namespace: /proc/thread-self/net/* and /proc/sys/net/* answer
// for the namespace of the thread that opens them. Reads asked for in the
// same turn of the event loop go in one trip to that thread.
import { type NamespaceHandle, readNamespaceFiles } from '../diag';
import { readSnmpFiles } from '../procfs/netstat';
import type { FileReader } from '../procfs/read';
import { readSockstatFiles } from '../procfs/sockstat';
import { readPortRange, readSysctlValues } from '../procfs/sysctl';
import type { SourceReader } from '../collectors/sources';

/** Batches the reads of one turn into one readNamespaceFiles call. */
export function batchedReader(handle: NamespaceHandle): FileReader {
  let queued: {
    path: string;
    resolve: (text: string | null) => void;
    reject: (e: Error) => void;
  }[] = [];
  const flush = async () => {
    const batch = queued;
    queued = [];
    try {
      const files = await readNamespaceFiles(
        handle,
        batch.map((item) => item.path),
      );
      batch.forEach((item, i) => {
        const file = files[i];
        if (file?.content !== undefined) item.resolve(file.content);
        else if (file?.code === 'ENOENT' || file?.code === 'ENOTDIR') item.resolve(null);
        else {
          const error = new Error(
            `${item.path}: ${file?.code ?? 'unreadable'}`,
          ) as NodeJS.ErrnoException;
          if (file?.code) error.code = file.code;
          item.reject(error);
        }
      });
    } catch (error) {
      for (const item of batch) item.reject(error as Error);
    }
  };
  return (path) =>
    new Promise((resolve, reject) => {
      if (queued.length === 0) setImmediate(() => void flush());
      queued.push({ path, resolve, reject });
    });
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
  { counters }: { counters?: ReadonlySet<string> } = {},
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
    sysctls: () => readSysctlValues('/proc', inside),
    portRange: () => readPortRange('/proc', inside),
  };
}
