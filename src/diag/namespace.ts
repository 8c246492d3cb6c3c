// Network namespaces from TypeScript: a long-lived handle whose one
// sock_diag socket serves many dumps, and file reads done from inside.
//
//   const ns = await openNamespace('/var/run/netns/web');
//   for await (const batch of new Dump({ namespace: ns, states: ['listen'] })) ...
//   const [somaxconn] = await readNamespaceFiles(ns, ['/proc/sys/net/core/somaxconn']);
//   ns.close();
//
// A socket holds a reference on its namespace: an open handle keeps a
// namespace (and its devices) alive after `ip netns del`. Close handles of
// namespaces that are gone.
import { getSystemErrorName } from 'node:util';
import { closedError, fromNamespaceError } from './errors';
import { addon, type NativeFileRead, type NativeNamespace } from './native';
import { describe, integerIn, pathOption } from './validate';

export class NamespaceHandle {
  private tail: Promise<void> = Promise.resolve();
  private isClosed = false;

  /** @internal Built by openNamespace(). */
  constructor(
    /** @internal */ readonly native: NativeNamespace,
    /** The path it was opened from (it may be gone since). */
    readonly path: string,
  ) {}

  /** The namespace's identity: the inode of its nsfs file, as in /proc/PID/ns/net. */
  get inode(): number {
    return this.native.inode;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /**
   * Lets the namespace go: the socket closes now, or as soon as a running
   * dump ends. Dumps not yet started on this handle fail with ERR_SOCKDIAG_CLOSED.
   */
  close(): void {
    this.isClosed = true;
    this.native.close();
  }

  /**
   * @internal Waits for the dumps queued before, then resolves with the
   * function that hands the socket to the next one.
   */
  turn(): Promise<() => void> {
    let release!: () => void;
    const done = new Promise<void>((resolve) => {
      release = resolve;
    });
    const ready = this.tail.then(() => release);
    this.tail = this.tail.then(() => done);
    return ready;
  }
}

/**
 * Opens one sock_diag socket inside the namespace at `path` (created on a
 * private thread that joined it: needs CAP_SYS_ADMIN unless it is our own).
 */
export async function openNamespace(path: string): Promise<NamespaceHandle> {
  pathOption(path, 'netns');
  try {
    return new NamespaceHandle(await addon.openNamespace(path), path);
  } catch (error) {
    throw fromNamespaceError(error, path);
  }
}

export interface NamespaceFile {
  path: string;
  /** The bytes read, as UTF-8 (absent on error). */
  content?: string;
  /** True when the file was longer than maxBytes. */
  truncated?: boolean;
  /** Node-shaped error name (ENOENT...) when the file could not be read. */
  code?: string;
  errno?: number;
  syscall?: string;
}

export interface ReadNamespaceFilesOptions {
  /** Bytes kept per file (default 65536). */
  maxBytes?: number;
}

/** One namespace's part of readNamespacesFiles(). */
export interface NamespaceFilesRequest {
  netns: string | NamespaceHandle;
  files: readonly string[];
}

/**
 * Reads `files` from a private thread that joined the namespace (a path, or
 * an open handle, followed through its socket even when the path is gone).
 * Files under /proc/sys/net show the namespace of the thread that opens
 * them; for /proc/net use /proc/thread-self/net (/proc/self/net is the main
 * thread's). Errors per file are in the result; errors of the namespace
 * itself reject.
 */
export async function readNamespaceFiles(
  netns: string | NamespaceHandle,
  files: readonly string[],
  options: ReadNamespaceFilesOptions = {},
): Promise<NamespaceFile[]> {
  const [where, native, paths] = checkRequest({ netns, files });
  const maxBytes = maxBytesOption(options);
  let raw;
  try {
    raw = await addon.readNamespaceFiles(native, paths, maxBytes);
  } catch (error) {
    throw fromNamespaceError(error, where);
  }
  return raw.map((file, i) => namespaceFile(paths[i]!, file));
}

/**
 * readNamespaceFiles() for many namespaces in one trip: one private thread
 * enters each in turn (a scrape of a hundred namespaces is one job, not a
 * hundred). Resolves with, per request, its files or the error that kept
 * the thread out of that namespace (as readNamespaceFiles() would reject
 * with); invalid arguments reject the whole call.
 */
export async function readNamespacesFiles(
  requests: readonly NamespaceFilesRequest[],
  options: ReadNamespaceFilesOptions = {},
): Promise<(NamespaceFile[] | Error)[]> {
  if (!Array.isArray(requests)) {
    throw new TypeError(`Expected an array of requests but received ${describe(requests)}`);
  }
  const maxBytes = maxBytesOption(options);
  // A handle closed meanwhile fails its own request only.
  const checked = requests.map((request): ReturnType<typeof checkRequest> | Error => {
    try {
      return checkRequest(request);
    } catch (error) {
      if (error instanceof TypeError || error instanceof RangeError) throw error;
      return error as Error;
    }
  });
  type Checked = ReturnType<typeof checkRequest>;
  const asked = checked.filter((entry): entry is Checked => !(entry instanceof Error));
  const raw =
    asked.length === 0
      ? []
      : await addon.readNamespacesFiles(
          asked.map(([, native, paths]) => [native, paths]),
          maxBytes,
        );
  let next = 0;
  return checked.map((entry) => {
    if (entry instanceof Error) return entry;
    const [where, , paths] = entry;
    const result = raw[next++]!;
    if (!Array.isArray(result)) return fromNamespaceError(result, where);
    return result.map((file, j) => namespaceFile(paths[j]!, file));
  });
}

function checkRequest({
  netns,
  files,
}: NamespaceFilesRequest): [string, string | NativeNamespace, readonly string[]] {
  const where = netns instanceof NamespaceHandle ? netns.path : pathOption(netns, 'netns');
  if (netns instanceof NamespaceHandle && netns.closed) {
    throw closedError({ family: '', protocol: '', netns: where }, 'namespace handle');
  }
  if (!Array.isArray(files)) {
    throw new TypeError(`Expected an array of paths for files but received ${describe(files)}`);
  }
  files.forEach((file, index) => pathOption(file, `files[${index}]`));
  return [where, netns instanceof NamespaceHandle ? netns.native : netns, files];
}

function maxBytesOption(options: ReadNamespaceFilesOptions): number {
  return integerIn(options.maxBytes ?? 65536, 'maxBytes', 1, 16 * 1024 * 1024);
}

function namespaceFile(path: string, file: NativeFileRead): NamespaceFile {
  if (typeof file === 'string') return { path, content: file, truncated: false };
  if (file.errno === undefined) return { path, content: file.content ?? '', truncated: true };
  return {
    path,
    code: getSystemErrorName(-file.errno),
    errno: -file.errno,
    syscall: file.syscall ?? '',
  };
}
