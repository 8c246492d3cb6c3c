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
export { ALL_COLUMNS, COLUMNS, type ColumnName, type ColumnSpec, columnMask } from './columns';
export { SockDiagError } from './errors';
export {
  NamespaceHandle,
  type NamespaceFile,
  type NamespaceFilesRequest,
  openNamespace,
  readNamespaceFiles,
  readNamespacesFiles,
  type ReadNamespaceFilesOptions,
} from './namespace';
export { addon } from './native';
export {
  type DestroyProtocol,
  DestroySubscriber,
  type DestroySubscriberOptions,
  type DestroySubscriberStats,
  resolveSubscriberOptions,
} from './subscribe';
export {
  type BatchOf,
  formatAddress,
  type InfoField,
  SocketBatch,
  SocketTable,
  TCP_INFO_FIELD_ENDS,
} from './socket-batch';
