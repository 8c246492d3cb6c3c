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
    default:
      return `the ${what} dump failed`;
  }
}

export function fromNativeError(error: unknown, context: DumpContext): Error {
  const raw = error as Partial<NativeError>;
  if (typeof raw?.errno !== 'number' || typeof raw.kind !== 'string') {
    return error instanceof Error ? error : new Error(String(error));
  }
  const code = errnoName(raw.errno);
  const detail = raw.detail ? ` (${raw.detail})` : '';
  const syscall = raw.syscall ?? '';
  const where = syscall ? ` [${syscall}]` : '';
  return new SockDiagError(`${code}: ${advice(code, context, raw.kind)}${detail}${where}`, {
    code,
    errno: -raw.errno,
    syscall,
    kind: raw.kind,
  });
}

export function closedError(context: DumpContext): SockDiagError {
  return new SockDiagError(
    `ERR_SOCKDIAG_CLOSED: the ${context.protocol}/${context.family} dump was closed; start a new dump`,
    { code: 'ERR_SOCKDIAG_CLOSED', errno: 0, syscall: '', kind: 'closed' },
  );
}
