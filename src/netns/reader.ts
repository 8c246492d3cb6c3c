// A namespace's counters and settings. /proc/PID/net/* answers for PID's
// namespace from here, with no setns; /proc/sys/net/* answers for the
// namespace of the thread that opens it, so sysctls (and the net files of a
// namespace no process is in) are read on the addon's private thread inside
// the namespace. Reads asked for in the same turn of the event loop go in
// one trip to that thread.
import { readlinkSync } from 'node:fs';
import { type NamespaceHandle, readNamespaceFiles } from '../diag';
import { readSnmpFiles } from '../procfs/netstat';
import { type FileReader, readOptional } from '../procfs/read';
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
 * The reader for one namespace: net files through a process in it when
 * there is one (`hostProcfs`/PID), else from the private thread; sysctls
 * always from the thread. The process found at discovery may have exited
 * since (a container's process restarts while its sandbox pins the
 * namespace), and its pid may even belong to another process now: it is
 * used only while /proc/PID/ns/net still names this namespace.
 */
export function namespaceReader(
  handle: NamespaceHandle,
  entry: { pid?: number; inode: number },
  hostProcfs: string,
): SourceReader {
  const inside = batchedReader(handle);
  const net = (): [string, FileReader] => {
    if (entry.pid !== undefined && pidInNamespace(hostProcfs, entry.pid, entry.inode)) {
      return [`${hostProcfs}/${entry.pid}`, readOptional];
    }
    return ['/proc/thread-self', inside];
  };
  return {
    snmpFiles: () => readSnmpFiles(...net()),
    sockstatFiles: () => readSockstatFiles(...net()),
    sysctls: () => readSysctlValues('/proc', inside),
    portRange: () => readPortRange('/proc', inside),
  };
}

function pidInNamespace(procfs: string, pid: number, inode: number): boolean {
  try {
    return readlinkSync(`${procfs}/${pid}/ns/net`) === `net:[${inode}]`;
  } catch {
    return false; // exited, or unreadable
  }
}
