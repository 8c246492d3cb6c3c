// The columns the table scan reads, and the batch type that holds it to
// them. The TCP and UDP dumps of a scan ask the addon for these only, so
// the parser skips the stores of the other ~25 columns (peak batch memory
// shrinks with them). A column read by TableScan or PeerTracker but missing
// here fails `tsc`: their methods take a ScanBatch, not a SocketBatch.
import type { BatchOf } from '../diag';

export const SCAN_COLUMNS = [
  'family',
  'state',
  'timer',
  'retransmits',
  'expires',
  'receiveQueue',
  'sendQueue',
  'cgroupId',
  'localAddress',
  'remoteAddress',
  'localPort',
  'remotePort',
  'tcpInfoLength',
  'rtt',
  'infoOptions',
  'backoff',
  'totalRetrans',
  'unacked',
  'lastDataRecv',
  'skmemLength',
  'skmem',
] as const;

export type ScanColumn = (typeof SCAN_COLUMNS)[number];
export type ScanBatch = BatchOf<ScanColumn>;
