// Errors in Node's shape: `code`, `errno`, `syscall`, and a message that says
// what to do. The addon reports raw facts; this file names them.
import { getSystemErrorName } from 'node:util';
import type { NativeError } from './native';

export interface DumpContext {
  family: string;
  protocol: string;
  netns?: string | undefined;
}

export class SockDiagError extends Error {
  readonly code: string;
  readonly errno: number;
  readonly syscall: string;
  /** Where it came from: a failed system call, the kernel's answer, or bytes that do not parse. */
  readonly kind: 'system' | 'kernel' | 'malformed' | 'closed';

  constructor(
    message: string,
    fields: { code: string; errno: number; syscall: string; kind: SockDiagError['kind'] },
  ) {
    super(message);
    this.name = 'SockDiagError';
    this.code = fields.code;
    this.errno = fields.errno;
    this.syscall = fields.syscall;
    this.kind = fields.kind;
  }
}

function errnoName(errno: number): string {
  try {
    return getSystemErrorName(-errno);
  } catch {
    return `E${errno}`;
  }
}

function advice(code: string, context: DumpContext, kind: string): string {
  const what = `${context.protocol}/${context.family}`;
  switch (code) {
    case 'ENOENT':
      return kind === 'system'
        ? `network namespace ${context.netns ?? ''} not found: check the path (e.g. /var/run/netns/NAME)`
        : `this kernel has no sock_diag handler for ${what} (built without it, e.g. CONFIG_INET_RAW_DIAG or SCTP): disable that protocol`;
    case 'EPERM':
    case 'EACCES':
      return `permission denied for ${what}${context.netns ? ` in ${context.netns}` : ''}: entering another network namespace needs CAP_SYS_ADMIN, kernel filters on marks need CAP_NET_ADMIN`;
    case 'EPROTONOSUPPORT':
    case 'EOPNOTSUPP':
      return `this kernel lacks NETLINK_SOCK_DIAG support (CONFIG_INET_DIAG): socket metrics are unavailable here`;
    case 'EINVAL':
      return `the kernel rejected the ${what} request (an old kernel without this protocol or filter?)`;
    case 'ETIMEDOUT':
      return `the kernel stopped answering the ${what} dump: raise the dump timeout or check the host's load`;
    case 'EMSGSIZE':
      return `a ${what} dump datagram exceeded the receive buffer, so the dump would be incomplete`;
    case 'EBADMSG':
      return `the ${what} dump reply did not parse`;
    case 'EMFILE':
    case 'ENFILE':
      return 'out of file descriptors: raise the open files limit';
    case 'EBUSY':
      return `another ${what} dump is running on the same socket: dumps on one namespace handle must take turns`;
    case 'EBADF':
      return `the ${what} dump's socket is gone: open the namespace again`;
    default:
      return `the ${what} dump failed`;
  }
}

/** The calls that open a namespace file and move a thread into it. */
const NAMESPACE_CALLS = new Set(['open', 'ioctl', 'setns', 'fstat']);

export function fromNativeError(error: unknown, context: DumpContext): Error {
  const raw = error as Partial<NativeError>;
  if (typeof raw?.errno !== 'number' || typeof raw.kind !== 'string') {
    return error instanceof Error ? error : new Error(String(error));
  }
  const syscall = raw.syscall ?? '';
  if (raw.kind === 'system' && context.netns && NAMESPACE_CALLS.has(syscall)) {
    // Opening or entering the namespace failed, before any dump.
    return fromNamespaceError(error, context.netns);
  }
  const code = errnoName(raw.errno);
  const detail = raw.detail ? ` (${raw.detail})` : '';
  const where = syscall ? ` [${syscall}]` : '';
  return new SockDiagError(`${code}: ${advice(code, context, raw.kind)}${detail}${where}`, {
    code,
    errno: -raw.errno,
    syscall,
    kind: raw.kind,
  });
}

export function closedError(context: DumpContext, what = 'dump'): SockDiagError {
  const advice =
    what === 'dump'
      ? `the ${context.protocol}/${context.family} dump was closed; start a new dump`
      : `the ${what}${context.netns ? ` of ${context.netns}` : ''} was closed; open a new one`;
  return new SockDiagError(`ERR_SOCKDIAG_CLOSED: ${advice}`, {
    code: 'ERR_SOCKDIAG_CLOSED',
    errno: 0,
    syscall: '',
    kind: 'closed',
  });
}

/** What an errno means when a namespace file was opened or entered. */
function namespaceAdvice(code: string, path: string, syscall: string, detail: string): string {
  switch (code) {
    case 'ENOENT':
      return `network namespace ${path} does not exist (deleted, or a wrong path; ip netns names live in /var/run/netns)`;
    case 'EPERM':
      return syscall === 'setns'
        ? `entering network namespace ${path} needs CAP_SYS_ADMIN, which this process lacks: run as root or grant CAP_SYS_ADMIN`
        : `permission denied for ${path}`;
    case 'EACCES':
      return `cannot open ${path}: another user's /proc/PID/ns/net needs CAP_SYS_PTRACE (ptrace access to that process)`;
    case 'EINVAL':
      return detail ? `${path}: ${detail}` : `${path} is not a network namespace`;
    case 'ENOTDIR':
      return `${path} is not a namespace file (a path component is not a directory)`;
    case 'EBADF':
      return 'the namespace handle is closed: open the namespace again';
    case 'EMFILE':
    case 'ENFILE':
      return 'out of file descriptors: raise the open files limit';
    default:
      return `${path}: ${detail || 'the namespace could not be used'}`;
  }
}

/** A raw addon error from opening or entering a namespace, in Node's shape. */
export function fromNamespaceError(error: unknown, path: string): Error {
  const raw = error as Partial<NativeError>;
  if (typeof raw?.errno !== 'number')
    return error instanceof Error ? error : new Error(String(error));
  const code = errnoName(raw.errno);
  const syscall = raw.syscall ?? '';
  const message = namespaceAdvice(code, path, syscall, raw.detail ?? '');
  return new SockDiagError(`${code}: ${message}${syscall ? ` [${syscall}]` : ''}`, {
    code,
    errno: -raw.errno,
    syscall,
    kind: 'system',
  });
}
