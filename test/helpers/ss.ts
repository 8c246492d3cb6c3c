// Parses `ss -H` output (iproute2, the oracle) into rows comparable with a dump.

export interface SsRow {
  state: string;
  recvQ: number;
  sendQ: number;
  local: string;
  localPort: number;
  peer: string;
  peerPort: number;
  /** ss's timer name mapped to ours, when -o was given and one is armed. */
  timer?: string;
  /** skmem:(...) fields when -m was given, e.g. { rb: 131072, d: 0 }. */
  skmem?: Record<string, number>;
}

const SS_STATES: Record<string, string> = {
  ESTAB: 'established',
  'SYN-SENT': 'syn_sent',
  'SYN-RECV': 'syn_recv',
  'FIN-WAIT-1': 'fin_wait1',
  'FIN-WAIT-2': 'fin_wait2',
  'TIME-WAIT': 'time_wait',
  UNCONN: 'close',
  CLOSE: 'close',
  'CLOSE-WAIT': 'close_wait',
  'LAST-ACK': 'last_ack',
  LISTEN: 'listen',
  CLOSING: 'closing',
};

const SS_TIMERS: Record<string, string> = {
  on: 'retransmit',
  keepalive: 'keepalive',
  timewait: 'time_wait',
  persist: 'zero_window_probe',
};

/** Wildcards print as `*`, `0.0.0.0` or `[::]`: all become `*`. */
export function normaliseAddress(address: string): string {
  const bare = address.replace(/^\[/, '').replace(/\]$/, '').replace(/%.*$/, '');
  return bare === '0.0.0.0' || bare === '::' || bare === '*' ? '*' : bare;
}

function splitEndpoint(endpoint: string): [string, number] {
  const at = endpoint.lastIndexOf(':');
  const port = endpoint.slice(at + 1);
  return [normaliseAddress(endpoint.slice(0, at)), port === '*' ? 0 : Number(port)];
}

export function parseSs(text: string): SsRow[] {
  const rows: SsRow[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const last = rows[rows.length - 1];
    if (/^\s/.test(line) && last) {
      const skmem = /skmem:\(([^)]*)\)/.exec(line);
      if (skmem?.[1]) last.skmem = parseSkmem(skmem[1]);
      continue;
    }
    const fields = line.trim().split(/\s+/);
    const [state, recvQ, sendQ, local, peer] = fields;
    if (!state || !local || !peer) throw new Error(`unexpected ss line: ${line}`);
    const [localAddress, localPort] = splitEndpoint(local);
    const [peerAddress, peerPort] = splitEndpoint(peer);
    const row: SsRow = {
      state: SS_STATES[state] ?? state,
      recvQ: Number(recvQ),
      sendQ: Number(sendQ),
      local: localAddress,
      localPort,
      peer: peerAddress,
      peerPort,
    };
    const timer = /timer:\((\w+),/.exec(line);
    if (timer?.[1]) row.timer = SS_TIMERS[timer[1]] ?? 'other';
    const skmem = /skmem:\(([^)]*)\)/.exec(line);
    if (skmem?.[1]) row.skmem = parseSkmem(skmem[1]);
    rows.push(row);
  }
  return rows;
}

function parseSkmem(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of text.split(',')) {
    const match = /^([a-z]+)(\d+)$/.exec(part);
    if (match?.[1] && match[2]) out[match[1]] = Number(match[2]);
  }
  return out;
}

/** A stable key for matching a dump row with an ss row. */
export function endpointKey(row: {
  local: string;
  localPort: number;
  peer: string;
  peerPort: number;
}): string {
  return `${row.local}:${row.localPort}>${row.peer}:${row.peerPort}`;
}
