// The scan path without root: recorded dumps (and synthesised ones, for
// sizes the fixtures do not reach) parsed by the pure parser and aggregated
// by TableScan, against what ss printed for the same table.
import pino from 'pino';
import t, { type Test } from 'tap';
import type { ScrapeContext } from '../../src/collectors/collector';
import { socketsCollector } from '../../src/collectors/sockets';
import type { ScrapeSources } from '../../src/collectors/sources';
import { TCP_STATES, TIMERS as TIMER_NAMES } from '../../src/diag/constants';
import { addon } from '../../src/diag/native';
import { SocketBatch } from '../../src/diag/socket-batch';
import { columnMask } from '../../src/diag/columns';
import { SCAN_COLUMNS } from '../../src/scan/columns';
import { Histogram } from '../../src/scan/histogram';
import { type ScanOptions, TableScan } from '../../src/scan/table-scan';
import { TupleCounter } from '../../src/scan/tuple-counter';
import { createCollector } from '../helpers/context';
import { fixtureBatch, loadFixture } from '../helpers/fixtures';
import { ATTR, attribute, concat, done, row, u64 } from '../helpers/nlbuild';
import { parseSs, type SsRow } from '../helpers/ss';

const STATES = TCP_STATES;
const TIMERS = [...TIMER_NAMES, 'other'];
const OPTIONS: ScanOptions = {
  procfs: '/proc',
  trackPeers: true,
  peersLimit: 10,
  tcpInfo: true,
  ghostIdleSeconds: 3600,
};

function scanOf(batches: SocketBatch[], range: [number, number] = [32768, 60999]): TableScan {
  const scan = new TableScan(range, OPTIONS);
  for (const batch of batches) scan.add(batch, 'tcp');
  return scan;
}

const sum = (rows: SsRow[], pick: (row: SsRow) => number) =>
  rows.reduce((total, r) => total + pick(r), 0);

for (const name of ['tcp4.bin', 'tcp4-info-skmem.bin', 'tcp6-info-skmem.bin']) {
  t.test(`${name}: the scan's aggregates are ss's`, async (t) => {
    const fixture = loadFixture(name);
    const rows = parseSs(fixture.meta.ss);
    const scan = scanOf([fixtureBatch(fixture)]);
    const offset = fixture.meta.family === 10 ? 16 : 0;
    t.equal(scan.rows, rows.length, 'every row counted');
    STATES.forEach((state, s) => {
      if (s === 0) return;
      const expected = rows.filter((r) => r.state === state).length;
      t.equal(scan.totals.tcp.states[offset + s], expected, `${state} sockets`);
      TIMERS.forEach((timer, i) => {
        const withTimer = rows.filter((r) => r.state === state && (r.timer ?? 'none') === timer);
        t.equal(scan.timers[s * 6 + i], withTimer.length, `${state} with timer ${timer}`);
      });
    });
    const sockets = rows.filter((r) => r.state !== 'listen');
    t.equal(
      scan.totals.tcp.receiveQueueBytes,
      sum(sockets, (r) => r.recvQ),
      'unread bytes',
    );
    t.equal(
      scan.totals.tcp.sendQueueBytes,
      sum(sockets, (r) => r.sendQ),
      'unsent bytes',
    );
    const listenPorts = new Set(rows.filter((r) => r.state === 'listen').map((r) => r.localPort));
    t.same([...scan.listenerPorts].sort(), [...listenPorts].sort(), 'service ports');
    for (const port of listenPorts) {
      const states = scan.portStates(port);
      STATES.forEach((state, s) => {
        const expected = rows.filter((r) => r.localPort === port && r.state === state).length;
        t.equal(states[s], expected, `port ${port}: ${state}`);
      });
    }
    const timeWait = rows.filter((r) => r.state === 'time_wait');
    for (const port of new Set(timeWait.map((r) => r.peerPort))) {
      const expected = timeWait.filter((r) => r.peerPort === port).length;
      t.equal(scan.timeWaitByRemotePort[port], expected, `TIME_WAIT toward :${port}`);
    }
    if (fixture.meta.ext & 0x40) {
      const withSkmem = rows.filter((r) => r.skmem);
      t.equal(
        scan.totals.tcp.rmemAlloc,
        sum(withSkmem, (r) => r.skmem!.r!),
        'rmem_alloc',
      );
      t.equal(
        scan.totals.tcp.wmemQueued,
        sum(withSkmem, (r) => r.skmem!.w!),
        'wmem_queued',
      );
      t.equal(
        scan.totals.tcp.drops,
        sum(withSkmem, (r) => r.skmem!.d!),
        'drops',
      );
    }
    const established = rows.filter((r) => r.state === 'established').length;
    const withInfo = fixture.meta.ext & 0x02 ? established : 0;
    t.equal(scan.rtt.total, withInfo, 'one RTT sample per ESTABLISHED socket with tcp_info');
    t.equal(
      scan.idleWithKeepalive.total + scan.idleWithoutKeepalive.total,
      withInfo,
      'one idle sample each, with or without keepalive',
    );
    t.equal(scan.tcpInfoAvailable, withInfo > 0);
  });
}

/**
 * Every field of two scans equal, the 64 Ki-entry typed arrays compared as
 * bytes (a deep compare walks them element by element: seconds per scan).
 */
function sameScan(t: Test, ours: object, theirs: object, what: string, path = ''): void {
  const a = ours as Record<string, unknown>;
  const b = theirs as Record<string, unknown>;
  t.same(Object.keys(a).sort(), Object.keys(b).sort(), `${what}: fields${path}`);
  for (const key of Object.keys(b)) {
    const x = a[key];
    const y = b[key];
    if (ArrayBuffer.isView(x) && ArrayBuffer.isView(y)) {
      const bytes = (v: ArrayBufferView) => Buffer.from(v.buffer, v.byteOffset, v.byteLength);
      t.ok(bytes(x).equals(bytes(y)), `${what}: ${path}${key}`);
    } else if (key === 'peers' && x && y) {
      sameScan(t, x, y, what, `${key}.`);
    } else {
      t.same(x, y, `${what}: ${path}${key}`);
    }
  }
}

t.test('a scan over batches of only its columns is the scan over full batches', async (t) => {
  const mask = columnMask(SCAN_COLUMNS);
  for (const name of [
    'tcp4.bin',
    'tcp4-cgroup.bin',
    'tcp4-info-skmem.bin',
    'tcp6-info-skmem.bin',
  ]) {
    const fixture = loadFixture(name);
    const full = fixtureBatch(fixture);
    const masked = fixtureBatch(fixture, mask);
    t.ok(
      Object.keys(masked.columns).length < Object.keys(full.columns).length,
      `${name}: the masked batch lacks columns`,
    );
    for (const reveal of [true, false]) {
      const options = { ...OPTIONS, trackPeers: reveal, ghostIdleSeconds: 0 };
      const a = new TableScan([32768, 60999], options);
      const b = new TableScan([32768, 60999], options);
      a.add(full, 'tcp');
      b.add(masked, 'tcp');
      sameScan(t, b, a, `${name}, peers ${reveal ? 'on' : 'off'}`);
      t.same(b.halfOpen, a.halfOpen, `${name}: half-open sources`);
      t.same(b.timeWaitPorts(10), a.timeWaitPorts(10), `${name}: TIME_WAIT ports`);
      t.same(b.peers.busiestTuple(reveal), a.peers.busiestTuple(reveal), `${name}: busiest tuple`);
    }
  }
  const udp = loadFixture('udp4-skmem.bin');
  const a = new TableScan([32768, 60999], OPTIONS);
  const b = new TableScan([32768, 60999], OPTIONS);
  a.add(fixtureBatch(udp), 'udp');
  b.add(fixtureBatch(udp, mask), 'udp');
  t.same(b.totals, a.totals, 'udp: the same totals');
});

t.test('busiest ephemeral-port tuple and top peers, from ss', async (t) => {
  const fixture = loadFixture('tcp4.bin');
  const rows = parseSs(fixture.meta.ss);
  // The fixture's clients use ports 41001-42010: make those the range.
  const range: [number, number] = [41000, 42999];
  const scan = scanOf([fixtureBatch(fixture)], range);
  const listen = new Set(rows.filter((r) => r.state === 'listen').map((r) => r.localPort));
  const tuples = new Map<string, number>();
  for (const r of rows) {
    if (r.state === 'listen' || listen.has(r.localPort)) continue;
    if (r.localPort < range[0] || r.localPort > range[1]) continue;
    const key = `${r.local}|${r.peer}|${r.peerPort}`;
    tuples.set(key, (tuples.get(key) ?? 0) + 1);
  }
  const busiest = Math.max(0, ...tuples.values());
  t.ok(busiest > 0, 'the fixture has client sockets in the range');
  const tuple = scan.peers.busiestTuple(true);
  t.equal(tuple.ports, busiest, 'ports toward the busiest tuple');
  t.equal(tuples.get(`${tuple.localAddress}|${tuple.remoteAddress}|${tuple.remotePort}`), busiest);
  t.same(scan.peers.busiestTuple(false), { ports: busiest }, 'no addresses unless revealed');
  const established = rows.filter((r) => r.state === 'established');
  const peers = new Map<string, number>();
  for (const r of established) peers.set(r.peer, (peers.get(r.peer) ?? 0) + 1);
  t.same(
    scan.peers.topPeers(1).map((p) => [p.address, p.sockets]),
    [...peers].sort((a, b) => b[1] - a[1]),
    'established peers, busiest first',
  );
  t.equal(scan.peers.distinctPeers(1), peers.size);
});

/** A synthetic dump: `count` TIME_WAIT rows from 10.1.x.y to 10.0.0.1:443 and others. */
function synthetic(count: number): SocketBatch {
  const seq = 7;
  const parts: Uint8Array[] = [
    row(seq, { state: 10, sport: 443, dport: 0, src: [10, 0, 0, 1], dst: [0, 0, 0, 0] }),
  ];
  for (let i = 0; i < count; i++) {
    // Three clients: 10.1.0.1 gets half the rows, the others a quarter each.
    const client = i % 2 === 0 ? 1 : i % 4 === 1 ? 2 : 3;
    parts.push(
      row(seq, {
        state: 6,
        timer: 3,
        sport: 33000 + (i % 20000),
        dport: 443,
        src: [10, 1, 0, client],
        dst: [10, 0, 0, 1],
        uid: 0,
        inode: 0,
      }),
    );
  }
  parts.push(done(seq));
  const result = addon.parse(concat(...parts), {
    family: 2,
    protocol: 6,
    states: 0xfff,
    extensions: 0,
    groups: 0,
    batchRows: count + 1,
    timeoutMs: 1000,
    legacy: false,
    seq,
  });
  return new SocketBatch(result.count, result.columns);
}

t.test('a synthetic table of 6,000 sockets: tuples, peers, service port', async (t) => {
  const scan = scanOf([synthetic(6000)]);
  t.equal(scan.rows, 6001);
  t.equal(scan.totals.tcp.states[6], 6000, 'TIME_WAIT');
  t.equal(scan.portStates(443)[6], 0, 'the client side is not on the service port');
  t.equal(scan.timeWaitByRemotePort[443], 6000, 'TIME_WAIT toward the service');
  t.same(scan.timeWaitByServicePort(5), [[443, 6000]]);
  const tuple = scan.peers.busiestTuple(true);
  t.same(tuple, {
    ports: 3000,
    localAddress: '10.1.0.1',
    remoteAddress: '10.0.0.1',
    remotePort: 443,
  });
  t.same(
    scan.peers.topPeers(6).map((p) => [p.address, p.sockets]),
    [['10.0.0.1', 6000]],
    'one remote address for every TIME_WAIT socket',
  );
});

t.test('sockets per cgroup and state, in runs and interleaved, ids past 2^32', async (t) => {
  const seq = 11;
  // [state, cgroup id]: a listener, runs of one id, ids that come back, and
  // one above 2^32 (the two u32 halves of the id must both count).
  const sockets: [number, bigint][] = [
    [10, 7n],
    [1, 7n],
    [1, 7n],
    [8, 9n],
    [1, 7n],
    [1, 0x1_0000_0007n],
    [6, 0n],
    [1, 0x1_0000_0007n],
  ];
  const parts = sockets.map(([state, cgroup], i) =>
    row(seq, { state, sport: state === 10 ? 80 : 40000 + i, dport: state === 10 ? 0 : 80 }, [
      attribute(ATTR.cgroupId, u64(cgroup)),
    ]),
  );
  const result = addon.parse(concat(...parts, done(seq)), {
    family: 2,
    protocol: 6,
    states: 0xfff,
    extensions: 0,
    groups: 0,
    batchRows: 64,
    timeoutMs: 1000,
    legacy: false,
    seq,
  });
  const scan = scanOf([new SocketBatch(result.count, result.columns)]);
  const expected = new Map<number, Uint32Array>();
  for (const [state, cgroup] of sockets) {
    const id = Number(cgroup);
    if (!expected.has(id)) expected.set(id, new Uint32Array(16));
    expected.get(id)![state]!++;
  }
  t.same(
    [...scan.cgroupStates.keys()].sort((a, b) => a - b),
    [...expected.keys()].sort((a, b) => a - b),
    'one entry per cgroup id',
  );
  for (const [id, states] of expected) {
    t.same([...scan.cgroupStates.get(id)!], [...states], `cgroup ${id}: sockets per state`);
  }
});

t.test('sockdiag_scan_tcp_walk_parts: how many parts the TCP walk ran in', async (t) => {
  const fixture = loadFixture('tcp4-info-skmem.bin');
  const partsReported = async (partRows: number[]) => {
    const scan = scanOf([fixtureBatch(fixture)]);
    scan.partRows.push(...partRows);
    const sources = { tableScan: Promise.resolve(scan) } as unknown as ScrapeSources;
    const context: ScrapeContext = { log: pino({ level: 'silent' }), sources, now: Date.now() };
    const families = await createCollector(socketsCollector).collect(context);
    return families.find((family) => family.name === 'sockdiag_scan_tcp_walk_parts')?.values;
  };
  t.same(await partsReported([120]), [{ value: 1 }], 'one walk');
  t.same(await partsReported([60, 61]), [{ value: 2 }], 'a split in two');
});

t.test('TupleCounter counts like a Map, through growth', async (t) => {
  const counter = new TupleCounter(16);
  const reference = new Map<string, number>();
  let seed = 12345;
  const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
  for (let i = 0; i < 50_000; i++) {
    const a = next() % 300;
    const b = (next() % 7) * 0x1000000 + 0xc0000000; // above 2^31: unsigned keys
    const c = next() % 65536;
    counter.add(a, b >>> 0, c);
    const key = `${a}|${b >>> 0}|${c}`;
    reference.set(key, (reference.get(key) ?? 0) + 1);
  }
  const seen = new Map<string, number>();
  counter.forEach((a, b, c, count) => seen.set(`${a}|${b}|${c}`, count));
  t.equal(counter.size, reference.size, 'distinct keys');
  t.same(seen, reference, 'every count');
});

t.test('Histogram: upper bounds inclusive, overflow only in the total', async (t) => {
  const histogram = new Histogram([1, 10, 100]);
  for (const value of [0, 1, 1.5, 10, 50, 100, 1000]) histogram.observe(value);
  t.same([...histogram.counts], [2, 2, 2]);
  t.equal(histogram.total, 7);
  t.equal(histogram.sum, 1162.5);
});
