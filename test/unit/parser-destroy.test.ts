// The pure parser on socket-destroy events recorded from a real kernel
// (6.18) by scripts/record-fixture.py --destroy, while `ss -tEie` listened
// too: the sidecar's ss text is the oracle, the runOutput names the ports
// scripts/close-scenario.py used. No root needed.
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { parseDestroyEvents } from '../helpers/destroy-events';
import { FIXTURES } from '../helpers/paths';
import { SocketBatch } from '../../src/diag/socket-batch';
import { normaliseAddress, parseSs } from '../helpers/ss';

interface Sidecar {
  seq: number;
  events: boolean;
  groups: string[];
  datagramLengths: number[];
  kernel: string;
  ss: string;
  runOutput: string;
}

const file = path.join(FIXTURES, 'destroy-tcp.bin');
const bytes = new Uint8Array(fs.readFileSync(file));
const meta = JSON.parse(fs.readFileSync(`${file}.json`, 'utf8')) as Sidecar;

/** local, remote, Recv-Q, Send-Q, bytes_acked, bytes_received, cookie. */
type Event = [string, string, number, number, number, number, bigint];

// Written out from the ss -E text and the scenario's ports: per family, FIN
// (client 46638 sent 1000, server 300), client RST (46650: 700/200), server
// RST (46660: 500/100), unread (46664: 400/0), then the listener 49755.
const INET: Event[] = [
  // FIN both ways: the client's bytes_acked counts SYN and FIN, its
  // received count the server's FIN, still unread (Recv-Q 1).
  ['127.0.0.1:46638', '127.0.0.1:49755', 1, 0, 1002, 301, 0x5322n],
  ['127.0.0.1:49755', '127.0.0.1:46638', 0, 0, 301, 1001, 0x5323n],
  // SO_LINGER 0 on the client: tcp_disconnect() wiped it (no local
  // address, no remote port, no counters, Send-Q = max window + 2) ...
  ['*:46650', '127.0.0.1:0', 0, 65538, 0, 0, 0x5324n],
  // ... and the server, reset, counts exactly what moved: no FIN either way.
  ['127.0.0.1:49755', '127.0.0.1:46650', 0, 0, 200, 700, 0x5325n],
  // SO_LINGER 0 on the server: wiped, the explicitly bound address kept.
  ['127.0.0.1:49755', '127.0.0.1:0', 0, 65538, 0, 0, 0x5326n],
  ['127.0.0.1:46660', '127.0.0.1:49755', 0, 0, 501, 100, 0x5327n],
  // Closed with 400 unread bytes: RST, and the bytes still queued.
  ['127.0.0.1:49755', '127.0.0.1:46664', 400, 0, 0, 400, 0x5328n],
  ['127.0.0.1:46664', '127.0.0.1:49755', 0, 0, 401, 0, 0x5329n],
  ['127.0.0.1:49755', '*:0', 0, 0, 0, 0, 0x532an],
];
const INET6: Event[] = [
  ['::1:55896', '::1:46961', 1, 0, 1002, 301, 0x532bn],
  ['::1:46961', '::1:55896', 0, 0, 301, 1001, 0x532cn],
  ['*:55898', '::1:0', 0, 65538, 0, 0, 0x532dn],
  ['::1:46961', '::1:55898', 0, 0, 200, 700, 0x532en],
  ['::1:46961', '::1:0', 0, 65538, 0, 0, 0x532fn],
  ['::1:55906', '::1:46961', 0, 0, 501, 100, 0x5330n],
  ['::1:46961', '::1:55922', 400, 0, 0, 400, 0x5331n],
  ['::1:55922', '::1:46961', 0, 0, 401, 0, 0x5332n],
  ['::1:46961', '*:0', 0, 0, 0, 0, 0x5333n],
];

function parse(input: Uint8Array, batchRows = 64) {
  // info, and skmem to see that it stays empty
  return parseDestroyEvents(input, { batchRows, groups: 1 | 2, seq: meta.seq });
}

function fromSs(): Event[] {
  const details = meta.ss.split('\n').filter((line) => /^\s/.test(line) && line.trim() !== '');
  const mains = meta.ss.split('\n').filter((line) => line.trim() !== '' && !/^\s/.test(line));
  return parseSs(meta.ss).map((row, i) => {
    const detail = details[i] ?? '';
    const number = (re: RegExp) => Number(re.exec(detail)?.[1] ?? 0);
    return [
      `${row.local}:${row.localPort}`,
      `${row.peer}:${row.peerPort}`,
      row.recvQ,
      row.sendQ,
      number(/bytes_acked:(\d+)/),
      number(/bytes_received:(\d+)/),
      BigInt(`0x${/sk:([0-9a-f]+)/.exec(mains[i] ?? '')?.[1]}`),
    ];
  });
}

t.test('the fixture is what its sidecar says', async (t) => {
  t.same([meta.seq, meta.events, meta.groups], [0, true, ['tcp4', 'tcp6']]);
  t.equal(meta.datagramLengths.length, 18, 'one datagram per event');
  t.equal(
    meta.datagramLengths.reduce((a, b) => a + b, 0),
    bytes.length,
    'the file is its datagrams',
  );
  const run = JSON.parse(meta.runOutput) as Record<
    string,
    { listenerPort: number; cases: Record<string, { clientPort: number }> }
  >;
  t.same(
    [
      run.inet?.listenerPort,
      run.inet?.cases.fin?.clientPort,
      run.inet6?.listenerPort,
      run.inet6?.cases.unread?.clientPort,
    ],
    [49755, 46638, 46961, 55922],
    'the ports the expectations name',
  );
  t.same(fromSs(), [...INET, ...INET6], 'the expectations are what ss -E printed');
});

t.test('every event parses into the dump columns', async (t) => {
  const result = parse(bytes);
  t.same(
    [result.status, result.offset, result.count, result.skippedMessages],
    ['continue', bytes.length, 18, 0],
    'no NLMSG_DONE in a multicast stream: continue, all consumed',
  );
  const batch = new SocketBatch(result.count, result.columns);
  const c = batch.columns;
  [...INET, ...INET6].forEach((want, row) => {
    const [local, remote] = want;
    const label = `event ${row} ${local} -> ${remote}`;
    t.same(
      [
        `${normaliseAddress(batch.localAddress(row))}:${c.localPort[row]}`,
        `${normaliseAddress(batch.remoteAddress(row))}:${c.remotePort[row]}`,
        c.receiveQueue[row],
        c.sendQueue[row],
        c.bytesAcked![row],
        c.bytesReceived![row],
        c.cookie[row],
      ],
      want,
      `${label}: endpoints, queues, bytes, cookie`,
    );
    t.equal(c.family[row], row < INET.length ? 2 : 10, `${label}: family`);
    t.equal(c.protocol[row], 6, `${label}: protocol from INET_DIAG_PROTOCOL`);
    t.equal(batch.stateName(row), 'close', `${label}: every socket is CLOSE when freed`);
    t.same(
      [c.timer[row], c.uid[row], c.inode[row], c.cgroupId[row]],
      [0, 0, 0, 0n],
      `${label}: no timer, uid, inode, cgroup`,
    );
    t.equal(c.tcpInfoLength![row], 280, `${label}: the 6.18 tcp_info`);
    t.equal(c.skmemLength![row], 0, `${label}: destroy events carry no skmem`);
  });
});

t.test('segments and bytes sent, as ss -i printed them', async (t) => {
  const result = parse(bytes);
  const c = result.columns;
  const details = meta.ss.split('\n').filter((line) => /^\s/.test(line) && line.trim() !== '');
  t.equal(details.length, result.count, 'one ss detail line per event');
  details.forEach((detail, row) => {
    // ss leaves zero counters out.
    const field = (name: string) => Number(new RegExp(`\\b${name}:(\\d+)`).exec(detail)?.[1] ?? 0);
    t.same(
      [c.segsOut![row], c.segsIn![row], c.bytesSent![row], c.bytesRetrans![row]],
      [field('segs_out'), field('segs_in'), field('bytes_sent'), field('bytes_retrans')],
      `event ${row}: segs_out, segs_in, bytes_sent, bytes_retrans`,
    );
  });
});

t.test('one event at a time, as the subscriber reads them', async (t) => {
  let start = 0;
  const ports: number[] = [];
  for (const length of meta.datagramLengths) {
    const part = parse(bytes.subarray(start, start + length), 1);
    t.same([part.status, part.count, part.offset], ['continue', 1, length], `datagram at ${start}`);
    ports.push(part.columns.localPort[0]!);
    start += length;
  }
  t.same(
    ports,
    [...INET, ...INET6].map((e) => Number(e[0].slice(e[0].lastIndexOf(':') + 1))),
    'in order',
  );
});

t.test('without protocolFromAttribute the request protocol stands', async (t) => {
  const result = parseDestroyEvents(bytes, { protocol: 17 });
  t.equal(result.count, 18);
  t.ok(
    Array.from(result.columns.protocol).every((p) => p === 17),
    'protocol 17 as asked',
  );
  t.ok(
    Array.from(result.columns.tcpInfoLength!).every((l) => l === 0),
    'so INFO is not taken for tcp_info',
  );
});
