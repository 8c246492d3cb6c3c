// The pure parser on dumps recorded from a real kernel (6.18) by
// scripts/record-fixture.py, in a namespace holding a known table (each
// sidecar's `note`). No root or netlink needed: bytes in, columns out.
//
// The expectations below are written out by hand from what `ss` printed
// right after each dump (the sidecar's `ss` text), never from our parser;
// a subtest re-reads that text so the two cannot drift apart.
import fs from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { addon, type NativeParseResult } from '../../src/diag/native';
import { SocketBatch } from '../../src/diag/socket-batch';
import { parseSs } from '../helpers/ss';
import { FIXTURES } from '../helpers/paths';

interface Sidecar {
  seq: number;
  family: number;
  familyName: 'inet' | 'inet6';
  protocol: number;
  states: number;
  ext: number;
  datagramLengths: number[];
  end: { type: string; code: number };
  kernel: string;
  note: string;
  ssCommand: string;
  ss: string;
  /** cgroup path (as ss printed it) -> inode of its directory, at recording. */
  cgroupIds?: Record<string, number | null>;
}

interface Fixture {
  name: string;
  bytes: Uint8Array;
  meta: Sidecar;
}

/** State name, Recv-Q, Send-Q, local, peer, timer, inode (`ino:`), cookie (`sk:`). */
type Socket = [string, number, number, string, string, string, number, bigint];
/** skmem:(r,rb,t,tb,f,w,o,bl,d), in SK_MEMINFO_* order. */
type Skmem = [number, number, number, number, number, number, number, number, number];
/**
 * From `ss -i`, in the kernel's units: rtt, rttvar, rto, minrtt (µs; ss
 * prints ms), cwnd, unacked, bytes_acked, bytes_received, pacing_rate and
 * delivery_rate (bytes/s; ss prints bits/s). ss omits zeros; it also omits
 * a pacing rate of ~0 ("unlimited", listeners), written null here.
 */
type Info = [
  rtt: number,
  rttVar: number,
  rto: number,
  sndCwnd: number,
  minRtt: number,
  unacked: number,
  bytesAcked: number,
  bytesReceived: number,
  pacingRate: number | null,
  deliveryRate: number,
];

/** TIME_WAIT rows carry no attributes: no skmem, no info. */
interface Expected {
  socket: Socket;
  skmem?: Skmem;
  info?: Info;
}

const ROOT = FIXTURES;

// test/fixtures/tcp4*.bin.json: ss -tanmoeiH -f inet. Listeners :5000
// (backlog 16) and :5001 (backlog 8, 2 connections never accepted: Recv-Q 2,
// children with ino:0); accepted pairs from :41001 (100 unread bytes at the
// server) and :41002 (50 unread at the client); TIME_WAIT from :41010; the
// IPv4 client :42010 of the dual-stack listener [::]:6001.
const TCP4: Expected[] = [
  {
    socket: ['listen', 0, 16, '127.0.0.1:5000', '0.0.0.0:0', 'none', 13895, 0x102dn],
    skmem: [0, 131072, 0, 16384, 0, 0, 0, 0, 0],
    info: [0, 0, 0, 10, 0, 0, 0, 0, null, 0],
  },
  {
    socket: ['listen', 2, 8, '127.0.0.1:5001', '0.0.0.0:0', 'none', 13902, 0x102en],
    skmem: [0, 131072, 0, 16384, 0, 0, 0, 0, 0],
    info: [0, 0, 0, 10, 0, 2, 0, 0, null, 0],
  },
  {
    socket: ['established', 0, 0, '127.0.0.1:42010', '127.0.0.1:6001', 'none', 13909, 0x102fn],
    skmem: [0, 131072, 0, 3939840, 0, 0, 0, 0, 0],
    info: [9, 4, 204000, 10, 9, 0, 1, 0, 103965463833, 0],
  },
  {
    socket: ['established', 0, 0, '127.0.0.1:5000', '127.0.0.1:41002', 'none', 13899, 0x1030n],
    skmem: [0, 131072, 0, 3939840, 0, 0, 0, 0, 0],
    info: [6, 3, 204000, 11, 4, 0, 50, 0, 133780111893, 8192000000],
  },
  {
    socket: ['established', 0, 0, '127.0.0.1:41021', '127.0.0.1:5001', 'none', 13903, 0x1031n],
    skmem: [0, 131072, 0, 3939840, 0, 0, 0, 0, 0],
    info: [5, 2, 200000, 10, 5, 0, 1, 0, 187137836015, 0],
  },
  {
    socket: ['established', 0, 0, '127.0.0.1:41022', '127.0.0.1:5001', 'none', 13904, 0x1032n],
    skmem: [0, 131072, 0, 3939840, 0, 0, 0, 0, 0],
    info: [4, 2, 200000, 10, 4, 0, 1, 0, 233922295019, 0],
  },
  {
    socket: ['established', 0, 0, '127.0.0.1:5001', '127.0.0.1:41021', 'none', 0, 0x1033n],
    skmem: [0, 131072, 0, 3939840, 0, 0, 0, 0, 0],
    info: [6, 3, 204000, 10, 6, 0, 0, 0, 156076796278, 0],
  },
  {
    socket: ['established', 100, 0, '127.0.0.1:5000', '127.0.0.1:41001', 'none', 13897, 0x1034n],
    skmem: [932, 131072, 0, 3939840, 3164, 0, 0, 0, 0],
    info: [23, 11, 204000, 10, 23, 0, 0, 100, 40715682830, 0],
  },
  {
    socket: ['established', 0, 0, '127.0.0.1:5001', '127.0.0.1:41022', 'none', 0, 0x1035n],
    skmem: [0, 131072, 0, 3939840, 0, 0, 0, 0, 0],
    info: [5, 2, 200000, 10, 5, 0, 0, 0, 187292160000, 0],
  },
  {
    socket: ['established', 0, 0, '127.0.0.1:41001', '127.0.0.1:5000', 'none', 13896, 0x1036n],
    skmem: [0, 131072, 0, 3939840, 0, 0, 0, 0, 0],
    info: [42, 24, 204000, 11, 7, 0, 101, 0, 19908278053, 4681142857],
  },
  {
    socket: ['established', 50, 0, '127.0.0.1:41002', '127.0.0.1:5000', 'none', 13898, 0x1037n],
    skmem: [882, 131072, 0, 3939840, 3214, 0, 0, 0, 0],
    info: [4, 2, 204000, 10, 4, 0, 1, 50, 233922295019, 0],
  },
  { socket: ['time_wait', 0, 0, '127.0.0.1:41010', '127.0.0.1:5000', 'time_wait', 0, 0x1038n] },
];

// test/fixtures/tcp6-info-skmem.bin.json: ss -tanmoeiH -f inet6. Dual-stack
// listener [::]:6001 with its v4-mapped child of 127.0.0.1:42010; [::1]:6000
// with the child of :42001 (200 unread bytes); [::1]:6002 (backlog 8) with 2
// un-accepted connections from :42031 and :42032; TIME_WAIT from :42020.
const TCP6: Expected[] = [
  {
    socket: ['listen', 0, 16, '[::]:6001', '[::]:0', 'none', 13908, 0x25n],
    skmem: [0, 131072, 0, 16384, 0, 0, 0, 0, 0],
    info: [0, 0, 0, 10, 0, 0, 0, 0, null, 0],
  },
  {
    socket: ['listen', 0, 16, '[::1]:6000', '[::]:0', 'none', 13905, 0x26n],
    skmem: [0, 131072, 0, 16384, 0, 0, 0, 0, 0],
    info: [0, 0, 0, 10, 0, 0, 0, 0, null, 0],
  },
  {
    socket: ['listen', 2, 8, '[::1]:6002', '[::]:0', 'none', 13913, 0x27n],
    skmem: [0, 131072, 0, 16384, 0, 0, 0, 0, 0],
    info: [0, 0, 0, 10, 0, 2, 0, 0, null, 0],
  },
  {
    socket: [
      'established',
      0,
      0,
      '[::ffff:127.0.0.1]:6001',
      '[::ffff:127.0.0.1]:42010',
      'none',
      13910,
      0x28n,
    ],
    skmem: [0, 131072, 0, 3939840, 0, 0, 0, 0, 0],
    info: [9, 4, 204000, 10, 9, 0, 0, 0, 104051199379, 0],
  },
  {
    socket: ['established', 0, 0, '[::1]:6002', '[::1]:42032', 'none', 0, 0x29n],
    skmem: [0, 131072, 0, 3939840, 0, 0, 0, 0, 0],
    info: [7, 3, 200000, 10, 7, 0, 0, 0, 133780111893, 0],
  },
  {
    socket: ['established', 0, 0, '[::1]:42001', '[::1]:6000', 'none', 13906, 0x2an],
    skmem: [0, 131072, 0, 3939840, 0, 0, 0, 0, 0],
    info: [15, 8, 204000, 11, 6, 0, 201, 0, 55025406922, 5461333333],
  },
  { socket: ['time_wait', 0, 0, '[::1]:42020', '[::1]:6000', 'time_wait', 0, 0x2bn] },
  {
    socket: ['established', 200, 0, '[::1]:6000', '[::1]:42001', 'none', 13907, 0x2cn],
    skmem: [1032, 131072, 0, 3939840, 3064, 0, 0, 0, 0],
    info: [11, 5, 204000, 10, 11, 0, 0, 200, 85132796955, 0],
  },
  {
    socket: ['established', 0, 0, '[::1]:42031', '[::1]:6002', 'none', 13914, 0x2dn],
    skmem: [0, 131072, 0, 3939840, 0, 0, 0, 0, 0],
    info: [6, 3, 200000, 10, 6, 0, 1, 0, 155905325189, 0],
  },
  {
    socket: ['established', 0, 0, '[::1]:42032', '[::1]:6002', 'none', 13915, 0x2en],
    skmem: [0, 131072, 0, 3939840, 0, 0, 0, 0, 0],
    info: [5, 2, 200000, 10, 5, 0, 1, 0, 187086394687, 0],
  },
  {
    socket: ['established', 0, 0, '[::1]:6002', '[::1]:42031', 'none', 0, 0x2fn],
    skmem: [0, 131072, 0, 3939840, 0, 0, 0, 0, 0],
    info: [6, 3, 200000, 10, 6, 0, 0, 0, 156076796278, 0],
  },
];

// test/fixtures/udp4-skmem.bin.json: ss -uanmeH -f inet. :7000 holds two
// unread 100-byte datagrams (Recv-Q is skb memory: 1664); :7001 and :7002
// are connected to each other; 0.0.0.0:7003 sent the datagrams.
const UDP4: Expected[] = [
  {
    socket: ['close', 1664, 0, '127.0.0.1:7000', '0.0.0.0:0', 'none', 13916, 0x1039n],
    skmem: [1664, 212992, 0, 212992, 2432, 0, 0, 0, 0],
  },
  {
    socket: ['established', 0, 0, '127.0.0.1:7001', '127.0.0.1:7002', 'none', 13917, 0x103an],
    skmem: [0, 212992, 0, 212992, 0, 0, 0, 0, 0],
  },
  {
    socket: ['established', 0, 0, '127.0.0.1:7002', '127.0.0.1:7001', 'none', 13918, 0x103bn],
    skmem: [0, 212992, 0, 212992, 0, 0, 0, 0, 0],
  },
  {
    socket: ['close', 0, 0, '0.0.0.0:7003', '0.0.0.0:0', 'none', 13919, 0x103cn],
    skmem: [0, 212992, 0, 212992, 0, 0, 0, 0, 0],
  },
];

// test/fixtures/tcp4-cgroup.bin.json: recorded with nsenter --net, so ss
// found the cgroup2 mount and printed paths. A listener on :8080 owned by
// /sockdiag-fixture.slice/nginx.service (cgroup id 44) with its accepted
// child, which inherits the listener's cgroup; the client :56154 owned by
// .../cri-containerd-abc.scope (id 82); a TIME_WAIT socket, which has none.
const TCP4_CGROUP: Expected[] = [
  {
    socket: ['listen', 0, 16, '127.0.0.1:8080', '0.0.0.0:0', 'none', 46685, 0x30bn],
    skmem: [0, 131072, 0, 16384, 0, 0, 0, 0, 0],
    info: [0, 0, 0, 10, 0, 0, 0, 0, null, 0],
  },
  {
    socket: ['established', 0, 0, '127.0.0.1:8080', '127.0.0.1:56154', 'none', 46687, 0x30cn],
    skmem: [0, 131072, 0, 3939840, 0, 0, 0, 0, 0],
    info: [23, 11, 204000, 10, 23, 0, 0, 0, 40715682830, 0],
  },
  {
    socket: ['established', 0, 0, '127.0.0.1:56154', '127.0.0.1:8080', 'none', 46686, 0x30dn],
    skmem: [0, 131072, 0, 3939840, 0, 0, 0, 0, 0],
    info: [38, 19, 204000, 10, 38, 0, 1, 0, 24623394779, 0],
  },
  { socket: ['time_wait', 0, 0, '127.0.0.1:36950', '127.0.0.1:9090', 'time_wait', 0, 0x30en] },
];

// cgroupId per row. The older fixtures were recorded under `ip netns exec`,
// which hides the cgroup2 mount: ss printed `cgroup:unreachable:1`, the id
// of the root cgroup the recorder ran in. TIME_WAIT rows carry no id.
const ROOT_CGROUP = 1n;
const CGROUPS: Record<string, bigint[]> = {
  'tcp4.bin': [...Array<bigint>(11).fill(ROOT_CGROUP), 0n],
  'tcp4-info-skmem.bin': [...Array<bigint>(11).fill(ROOT_CGROUP), 0n],
  'tcp6-info-skmem.bin': [
    ...Array<bigint>(6).fill(ROOT_CGROUP),
    0n,
    ...Array<bigint>(4).fill(ROOT_CGROUP),
  ],
  'udp4-skmem.bin': Array<bigint>(4).fill(ROOT_CGROUP),
  'tcp4-cgroup.bin': [44n, 44n, 82n, 0n],
};

function load(name: string): Fixture {
  const file = path.join(ROOT, name);
  return {
    name,
    bytes: new Uint8Array(fs.readFileSync(file)),
    meta: JSON.parse(fs.readFileSync(`${file}.json`, 'utf8')) as Sidecar,
  };
}

function parse(fixture: Fixture, bytes = fixture.bytes, batchRows = 64): NativeParseResult {
  const { meta } = fixture;
  return addon.parse(bytes, {
    family: meta.family,
    protocol: meta.protocol,
    states: meta.states,
    extensions: meta.ext,
    // Always bind both optional groups: a dump without the extension must
    // leave them empty rather than absent.
    groups: 1 | 2,
    batchRows,
    timeoutMs: 1000,
    legacy: false,
    seq: meta.seq,
  });
}

function endpoint(family: number, address: string, port: number): string {
  return family === 10 ? `[${address}]:${port}` : `${address}:${port}`;
}

/** The parsed row in the shape of an Expected socket tuple. */
function socketOf(batch: SocketBatch, row: number): Socket {
  const c = batch.columns;
  const family = c.family[row]!;
  return [
    batch.stateName(row),
    c.receiveQueue[row]!,
    c.sendQueue[row]!,
    endpoint(family, batch.localAddress(row), c.localPort[row]!),
    endpoint(family, batch.remoteAddress(row), c.remotePort[row]!),
    batch.timerName(row),
    c.inode[row]!,
    c.cookie[row]!,
  ];
}

function infoOf(batch: SocketBatch, row: number): Info {
  const c = batch.columns;
  const pacing = c.pacingRate![row]!;
  return [
    c.rtt![row]!,
    c.rttVar![row]!,
    c.rto![row]!,
    c.sndCwnd![row]!,
    c.minRtt![row]!,
    c.unacked![row]!,
    c.bytesAcked![row]!,
    c.bytesReceived![row]!,
    // ~0 (u64 max, "no pacing") arrives as the double 2^64.
    pacing === 2 ** 64 ? null : pacing,
    c.deliveryRate![row]!,
  ];
}

/** Checks a whole parse of `fixture` against `expected`, row by row. */
function checkRows(t: Test, fixture: Fixture, expected: Expected[], withInfo: boolean): void {
  const result = parse(fixture);
  t.same(
    {
      status: result.status,
      offset: result.offset,
      errno: result.errno,
      detail: result.detail,
      skippedMessages: result.skippedMessages,
      count: result.count,
    },
    {
      status: 'done',
      offset: fixture.bytes.length,
      errno: 0,
      detail: '',
      skippedMessages: 0,
      count: expected.length,
    },
    'the whole stream parses and ends with NLMSG_DONE 0',
  );
  const batch = new SocketBatch(result.count, result.columns);
  const c = batch.columns;
  expected.forEach((want, row) => {
    const label = `row ${row} ${want.socket[3]} -> ${want.socket[4]}`;
    t.same(socketOf(batch, row), want.socket, `${label}: state, queues, endpoints, timer, ids`);
    t.equal(c.family[row], fixture.meta.family, `${label}: family`);
    t.equal(c.protocol[row], fixture.meta.protocol, `${label}: protocol from the request`);
    t.equal(c.retransmits[row], 0, `${label}: no retransmits`);
    t.equal(c.uid[row], 0, `${label}: owned by root (ss -e prints no uid:)`);
    t.equal(c.interfaceIndex[row], 0, `${label}: not bound to a device`);
    if (want.socket[0] === 'time_wait') {
      // ss -o said timer:(timewait,59sec,0) just after the dump: 59 s or a
      // little more remained of TCP_TIMEWAIT_LEN (60 s).
      t.ok(c.expires[row]! >= 59000 && c.expires[row]! <= 60000, `${label}: expires in 59-60 s`);
    } else {
      t.equal(c.expires[row], 0, `${label}: no timer armed`);
    }
    const tcpInfoLength = withInfo && want.info ? 280 : 0;
    t.equal(c.tcpInfoLength![row], tcpInfoLength, `${label}: tcp_info length`);
    if (withInfo && want.info) {
      t.same(infoOf(batch, row), want.info, `${label}: tcp_info fields`);
      t.ok(batch.infoCovers(row, 'deliveryRate'), `${label}: a 280-byte tcp_info covers all`);
    } else {
      t.notOk(batch.infoCovers(row, 'rtt'), `${label}: no tcp_info, no rtt`);
    }
    t.equal(c.cgroupId[row], CGROUPS[fixture.name]?.[row], `${label}: cgroup id`);
    const skmemLength = fixture.meta.ext & 0x40 && want.skmem ? 9 : 0;
    t.equal(c.skmemLength![row], skmemLength, `${label}: skmem length`);
    const skmem = Array.from(c.skmem!.subarray(row * 9, row * 9 + 9));
    t.same(skmem, skmemLength ? want.skmem : Array(9).fill(0), `${label}: skmem values`);
  });
}

const tcp4 = load('tcp4.bin');
const tcp4Info = load('tcp4-info-skmem.bin');
const tcp6Info = load('tcp6-info-skmem.bin');
const udp4 = load('udp4-skmem.bin');
const tcp4Cgroup = load('tcp4-cgroup.bin');

t.test('the fixtures are what their names say', async (t) => {
  for (const [fixture, family, protocol, ext] of [
    [tcp4, 2, 6, 0],
    [tcp4Info, 2, 6, 0x42],
    [tcp6Info, 10, 6, 0x42],
    [udp4, 2, 17, 0x40],
    [tcp4Cgroup, 2, 6, 0],
  ] as const) {
    const { meta } = fixture;
    t.same(
      [meta.family, meta.protocol, meta.ext, meta.states, meta.end],
      [family, protocol, ext, 0xfff, { type: 'done', code: 0 }],
      `${fixture.name}: request and how the dump ended`,
    );
    t.equal(
      meta.datagramLengths.reduce((a, b) => a + b, 0),
      fixture.bytes.length,
      `${fixture.name}: the file is its datagrams concatenated`,
    );
  }
});

t.test('the expectations are what ss printed', async (t) => {
  for (const [fixture, expected] of [
    [tcp4, TCP4],
    [tcp4Info, TCP4],
    [tcp6Info, TCP6],
    [udp4, UDP4],
    [tcp4Cgroup, TCP4_CGROUP],
  ] as const) {
    t.same(fromSs(fixture.meta), expected, `${fixture.name}: ${fixture.meta.ssCommand}`);
    t.same(cgroupsFromSs(fixture.meta), CGROUPS[fixture.name], `${fixture.name}: cgroup ids`);
  }
});

t.test('tcp4.bin: TCP IPv4 without extensions', async (t) => {
  checkRows(t, tcp4, TCP4, false);
});

t.test('tcp4-info-skmem.bin: TCP IPv4 with INFO|SKMEMINFO', async (t) => {
  checkRows(t, tcp4Info, TCP4, true);
});

t.test('tcp6-info-skmem.bin: TCP IPv6 and v4-mapped with INFO|SKMEMINFO', async (t) => {
  checkRows(t, tcp6Info, TCP6, true);
  const batch = new SocketBatch(TCP6.length, parse(tcp6Info).columns);
  t.equal(batch.localAddress(3), '::ffff:127.0.0.1', 'the dual-stack child is v4-mapped');
  t.same(
    Array.from(batch.columns.localAddress.subarray(3 * 16, 4 * 16)),
    [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1],
    'in the 16 address bytes, network order',
  );
});

t.test('udp4-skmem.bin: UDP IPv4 with SKMEMINFO', async (t) => {
  checkRows(t, udp4, UDP4, false);
});

t.test('tcp4-cgroup.bin: cgroup v2 ids of two services', async (t) => {
  checkRows(t, tcp4Cgroup, TCP4_CGROUP, false);
  t.same(
    tcp4Cgroup.meta.cgroupIds,
    {
      '/sockdiag-fixture.slice/kubepods-pod1234.slice/cri-containerd-abc.scope': 82,
      '/sockdiag-fixture.slice/nginx.service': 44,
    },
    'the recorder stat()ed the cgroup directories ss named',
  );
});

t.test('batches of 5 rows resume where the last one stopped', async (t) => {
  const whole = parse(tcp4Info);
  const statuses: string[] = [];
  const cookies: bigint[] = [];
  let offset = 0;
  for (let round = 0; round < 10; round++) {
    const part = parse(tcp4Info, tcp4Info.bytes.subarray(offset), 5);
    statuses.push(part.status);
    cookies.push(...part.columns.cookie);
    offset += part.offset;
    if (part.status !== 'batch-full') break;
  }
  t.same(statuses, ['batch-full', 'batch-full', 'done'], '5 + 5 + 2 rows');
  t.equal(offset, tcp4Info.bytes.length, 'everything consumed');
  t.same(cookies, Array.from(whole.columns.cookie), 'same rows in the same order');
});

t.test('one datagram at a time: continue, continue, done', async (t) => {
  const statuses: string[] = [];
  let rows = 0;
  let start = 0;
  for (const length of tcp4Info.meta.datagramLengths) {
    const part = parse(tcp4Info, tcp4Info.bytes.subarray(start, start + length));
    statuses.push(part.status);
    t.equal(part.offset, length, `datagram at ${start}: fully consumed`);
    rows += part.count;
    start += length;
  }
  t.same(statuses, ['continue', 'continue', 'done'], 'the last datagram holds only NLMSG_DONE');
  t.equal(rows, TCP4.length, 'rows split across datagrams add up');
});

t.test('another request sequence number skips every message', async (t) => {
  const result = addon.parse(udp4.bytes, {
    family: 2,
    protocol: 17,
    states: 0xfff,
    extensions: 0x40,
    groups: 2,
    batchRows: 64,
    timeoutMs: 1000,
    legacy: false,
    seq: udp4.meta.seq + 1,
  });
  t.same(
    [result.status, result.count, result.skippedMessages, result.offset],
    ['continue', 0, UDP4.length + 1, udp4.bytes.length],
    'rows and DONE of seq N are not the dump of seq N+1',
  );
});

// The cgroup id of each ss row: `cgroup:unreachable:ID` (hex) when ss found
// no cgroup2 mount, `cgroup:/path` resolved through the sidecar's stat()
// of that path, none (TIME_WAIT) = 0.
function cgroupsFromSs(meta: Sidecar): bigint[] {
  return meta.ss
    .split('\n')
    .filter((line) => line.trim() !== '' && !/^\s/.test(line))
    .map((line) => {
      const unreachable = /cgroup:unreachable:([0-9a-f]+)/.exec(line);
      if (unreachable) return BigInt(`0x${unreachable[1]}`);
      const path = /cgroup:(\/\S*)/.exec(line)?.[1];
      return path === undefined ? 0n : BigInt(meta.cgroupIds?.[path] ?? -1);
    });
}

// Reads a sidecar's ss text into Expected rows: the same derivation as the
// literals above, so that a re-recorded fixture fails loudly until they are
// rewritten from its ss text.
function fromSs(meta: Sidecar): Expected[] {
  const wildcard = meta.familyName === 'inet6' ? '::' : '0.0.0.0';
  const at = (address: string, port: number) =>
    endpoint(meta.family, address === '*' ? wildcard : address, port);
  // Each ss row is a main line, then (-m, -i) one indented detail line.
  const mains: { main: string; detail: string }[] = [];
  for (const line of meta.ss.split('\n')) {
    if (line.trim() === '') continue;
    const last = mains[mains.length - 1];
    if (/^\s/.test(line) && last) last.detail = line;
    else mains.push({ main: line, detail: '' });
  }
  return parseSs(meta.ss).map((ss, i) => {
    const { main, detail: info } = mains[i] ?? { main: '', detail: '' };
    const expected: Expected = {
      socket: [
        ss.state,
        ss.recvQ,
        ss.sendQ,
        at(ss.local, ss.localPort),
        at(ss.peer, ss.peerPort),
        ss.timer ?? 'none',
        Number(/ino:(\d+)/.exec(main)?.[1]),
        BigInt(`0x${/sk:([0-9a-f]+)/.exec(main)?.[1]}`),
      ],
    };
    if (ss.skmem) {
      const s = ss.skmem;
      expected.skmem = [s.r!, s.rb!, s.t!, s.tb!, s.f!, s.w!, s.o!, s.bl!, s.d!];
    }
    if (meta.protocol === 6 && /\bcwnd:/.test(info)) {
      const num = (re: RegExp, scale = 1) => Math.round(Number(re.exec(info)?.[1] ?? 0) * scale);
      const rtt = /(?<![a-z])rtt:([\d.]+)\/([\d.]+)/.exec(info);
      const pacing = /pacing_rate (\d+)bps/.exec(info);
      expected.info = [
        Math.round(Number(rtt?.[1] ?? 0) * 1000),
        Math.round(Number(rtt?.[2] ?? 0) * 1000),
        num(/rto:([\d.]+)/, 1000),
        num(/(?<![a-z_])cwnd:(\d+)/),
        num(/minrtt:([\d.]+)/, 1000),
        num(/(?<![a-z_])unacked:(\d+)/),
        num(/bytes_acked:(\d+)/),
        num(/bytes_received:(\d+)/),
        pacing ? Number(pacing[1]) / 8 : null,
        num(/delivery_rate (\d+)bps/, 1 / 8),
      ];
    }
    return expected;
  });
}
