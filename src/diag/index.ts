export {
  compilePortFilter,
  portExpressionMatches,
  type PortExpression,
  type PortFilter,
  type PortMatch,
} from './bytecode';
export * from './constants';
export {
  Dump,
  type DumpOptions,
  type DumpSocketsOptions,
  dumpSockets,
  resolveDumpOptions,
} from './dump';
export { SockDiagError } from './errors';
export { addon } from './native';
export {
  formatAddress,
  type InfoField,
  SocketBatch,
  SocketTable,
  TCP_INFO_FIELD_ENDS,
} from './socket-batch';
