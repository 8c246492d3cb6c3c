// The pure parser on hand-built bytes that a kernel would not send, or that
// old and future kernels do send: every length field lies in turn. Each case
// pins the exact outcome (status, errno, detail, offset) and the columns.
import os from 'node:os';
import t, { type Test } from 'tap';
import { addon, type NativeDumpParams, type NativeParseResult } from '../../src/diag/native';
import { SocketBatch, TCP_INFO_FIELD_ENDS } from '../../src/diag/socket-batch';
import {
  ATTR,
  attribute,
  concat,
  done,
  error,
  inetDiagMsg,
  NLMSG_NOOP,
  nlmsg,
  row,
  TCP_INFO_LAYOUT,
  TCPDIAG_GETSOCK,
  tcpInfo,
  u32s,
  u64,
} from '../helpers/nlbuild';

const SEQ = 0x5eed;
const EBADMSG = os.constants.errno.EBADMSG;
const EINVAL = os.constants.errno.EINVAL;
const ENOENT = os.constants.errno.ENOENT;

type Overrides = Partial<NativeDumpParams & { seq: number; protocolFromAttribute: boolean }>;

function parse(bytes: Uint8Array, overrides: Overrides = {}): NativeParseResult {
  return addon.parse(bytes, {
    family: 2,
    protocol: 6,
    states: 0xfff,
    extensions: 0x42,
    groups: 1 | 2,
    batchRows: 16,
    timeoutMs: 1000,
    legacy: false,
    seq: SEQ,
    ...overrides,
  });
}

interface Outcome {
  status: NativeParseResult['status'];
  offset: number;
  errno: number;
  detail: string;
  count: number;
  skippedMessages: number;
}

const DONE: Omit<Outcome, 'offset' | 'count'> = {
  status: 'done',
  errno: 0,
  detail: '',
  skippedMessages: 0,
};

function malformed(detail: string, offset: number, count: number): Outcome {
  return { status: 'malformed', offset, errno: EBADMSG, detail, count, skippedMessages: 0 };
}

function outcome(result: NativeParseResult): Outcome {
  const { status, offset, errno, detail, count, skippedMessages } = result;
  return { status, offset, errno, detail, count, skippedMessages };
}

function expectOutcome(t: Test, result: NativeParseResult, want: Outcome, what: string): void {
  t.same(outcome(result), want, what);
}

const DONE_LENGTH = done(SEQ).length; // 20

t.test('the builder agrees with the addon on where tcp_info fields end', async (t) => {
  t.same(
    Object.keys(TCP_INFO_FIELD_ENDS).sort(),
    Object.keys(TCP_INFO_LAYOUT).sort(),
    'the same exported fields',
  );
  for (const [name, [offset, width]] of Object.entries(TCP_INFO_LAYOUT)) {
    t.equal(TCP_INFO_FIELD_ENDS[name as keyof typeof TCP_INFO_FIELD_ENDS], offset + width, name);
  }
  t.equal(inetDiagMsg().length, 72);
  t.equal(DONE_LENGTH, 20);
});

t.test('a well-formed row, for reference', async (t) => {
  const bytes = concat(
    row(SEQ, { state: 10, sport: 443, dport: 0, rqueue: 2, wqueue: 128, cookie: 0x1_0000_0002n }),
    done(SEQ),
  );
  const result = parse(bytes);
  expectOutcome(t, result, { ...DONE, offset: bytes.length, count: 1 }, 'done after one row');
  const batch = new SocketBatch(result.count, result.columns);
  t.has(batch.row(0), {
    family: 2,
    protocol: 6,
    state: 10,
    stateName: 'listen',
    localPort: 443,
    remotePort: 0,
    receiveQueue: 2,
    sendQueue: 128,
    cookie: 0x1_0000_0002n,
    uid: 1000,
    inode: 4242,
    localAddress: '10.0.0.1',
    remoteAddress: '10.0.0.2',
    tcpInfoLength: 0,
    skmemLength: 0,
  });
});

t.test('netlink framing', async (t) => {
  const first = row(SEQ);
  t.test('header truncated after a good row', async (t) => {
    const result = parse(concat(first, new Uint8Array(10)));
    expectOutcome(
      t,
      result,
      malformed('netlink header truncated', first.length, 1),
      'stops at 10 bytes',
    );
    t.equal(result.columns.localPort[0], 8080, 'the good row is kept');
  });
  t.test('header truncated at the start', async (t) => {
    expectOutcome(
      t,
      parse(new Uint8Array(15)),
      malformed('netlink header truncated', 0, 0),
      '15 bytes',
    );
  });
  for (const length of [0, 4, 15]) {
    t.test(`nlmsg_len ${length} < 16`, async (t) => {
      const bytes = concat(first, nlmsg(20, SEQ, inetDiagMsg(), { length }), done(SEQ));
      expectOutcome(
        t,
        parse(bytes),
        malformed('nlmsg_len shorter than the netlink header', first.length, 1),
        'rejected, not looped on',
      );
    });
  }
  t.test('nlmsg_len beyond the buffer', async (t) => {
    const message = row(SEQ);
    const lying = nlmsg(20, SEQ, inetDiagMsg(), { length: message.length + 4 });
    expectOutcome(
      t,
      parse(concat(first, lying)),
      malformed('nlmsg_len runs past the end of the datagram', first.length, 1),
      '4 bytes too long',
    );
    expectOutcome(
      t,
      parse(nlmsg(20, SEQ, inetDiagMsg(), { length: 0xffffffff })),
      malformed('nlmsg_len runs past the end of the datagram', 0, 0),
      'u32 max',
    );
  });
  t.test('the last message may lack its padding', async (t) => {
    // SHUTDOWN is a u8: rta_len 5, nlmsg_len 16 + 72 + 5 = 93, not aligned.
    const bytes = row(SEQ, {}, [attribute(ATTR.shutdown, Uint8Array.of(3), { pad: false })], {
      pad: false,
    });
    t.equal(bytes.length, 93);
    const result = parse(bytes);
    expectOutcome(
      t,
      result,
      { ...DONE, status: 'continue', offset: 93, count: 1 },
      'no DONE yet: continue, all consumed',
    );
    t.equal(result.columns.shutdown[0], 3, 'SHUTDOWN read from the unpadded tail');
  });
  t.test('a stream without NLMSG_DONE continues', async (t) => {
    const bytes = concat(row(SEQ), row(SEQ));
    expectOutcome(
      t,
      parse(bytes),
      { ...DONE, status: 'continue', offset: bytes.length, count: 2 },
      'continue: the next datagram may hold more',
    );
  });
});

t.test('inet_diag_msg shorter than 72 bytes', async (t) => {
  for (const length of [0, 40, 71]) {
    const short = nlmsg(20, SEQ, inetDiagMsg().subarray(0, length));
    expectOutcome(
      t,
      parse(concat(short, done(SEQ))),
      malformed('inet_diag_msg shorter than 72 bytes', 0, 0),
      `${length} bytes`,
    );
  }
});

t.test('attributes', async (t) => {
  const first = row(SEQ);
  t.test('rta_len below the 4-byte header', async (t) => {
    for (const length of [0, 3]) {
      const bad = row(SEQ, {}, [attribute(ATTR.info, new Uint8Array(8), { length })]);
      expectOutcome(
        t,
        parse(concat(first, bad, done(SEQ))),
        malformed('attribute length shorter than its header', first.length, 1),
        `rta_len ${length}`,
      );
    }
  });
  t.test('rta_len overrunning its message into the next', async (t) => {
    // The buffer has the bytes (a DONE follows), the message does not.
    const bad = row(SEQ, {}, [attribute(ATTR.skmeminfo, u32s(1, 2), { length: 12 + DONE_LENGTH })]);
    expectOutcome(
      t,
      parse(concat(first, bad, done(SEQ))),
      malformed('attribute length runs past the message', first.length, 1),
      'stays inside nlmsg_len',
    );
  });
  t.test('attribute header truncated', async (t) => {
    const bad = row(SEQ, {}, [attribute(ATTR.shutdown, Uint8Array.of(0)), Uint8Array.of(8, 0)]);
    expectOutcome(
      t,
      parse(concat(bad, done(SEQ))),
      malformed('attribute header truncated', 0, 0),
      '2 stray bytes after the attributes',
    );
  });
  t.test('zero-length attributes (rta_len 4)', async (t) => {
    const bytes = concat(
      row(SEQ, {}, [
        attribute(ATTR.info),
        attribute(ATTR.skmeminfo),
        attribute(ATTR.meminfo),
        attribute(ATTR.shutdown),
      ]),
      done(SEQ),
    );
    const result = parse(bytes, { groups: 1 | 2 | 4 });
    expectOutcome(t, result, { ...DONE, offset: bytes.length, count: 1 }, 'accepted');
    const c = result.columns;
    t.same(
      [c.tcpInfoLength![0], c.rtt![0], c.skmemLength![0], c.meminfoLength![0], c.shutdown[0]],
      [0, 0, 0, 0, 0],
      'empty INFO: tcpInfoLength 0; empty SKMEMINFO/MEMINFO: length 0; empty SHUTDOWN ignored',
    );
    t.notOk(new SocketBatch(1, c).infoCovers(0, 'rtt'), 'no rtt from an empty tcp_info');
  });
  t.test('unknown and unused types are skipped, alignment kept', async (t) => {
    const bytes = concat(
      row(SEQ, {}, [
        attribute(99, Uint8Array.of(1, 2, 3, 4, 5, 6)), // rta_len 10, padded to 12
        attribute(ATTR.cong, new TextEncoder().encode('cubic\0')),
        attribute(0x3fff, new Uint8Array(0)),
        attribute(ATTR.mark, u32s(7)),
        attribute(ATTR.cgroupId, new Uint8Array(8).fill(0xee)),
        attribute(ATTR.skmeminfo, u32s(1, 2, 3, 4, 5, 6, 7, 8, 9)),
        attribute(ATTR.shutdown, Uint8Array.of(2)),
      ]),
      done(SEQ),
    );
    const result = parse(bytes);
    expectOutcome(t, result, { ...DONE, offset: bytes.length, count: 1 }, 'accepted');
    const c = result.columns;
    t.same(
      Array.from(c.skmem!.subarray(0, 9)),
      [1, 2, 3, 4, 5, 6, 7, 8, 9],
      'SKMEMINFO after them',
    );
    t.equal(c.skmemLength![0], 9);
    t.equal(c.shutdown[0], 2, 'SHUTDOWN after them');
    t.equal(c.tcpInfoLength![0], 0, 'no INFO');
  });
  t.test('NLA_F_NESTED and NLA_F_NET_BYTEORDER bits are masked off the type', async (t) => {
    for (const flag of [0x8000, 0x4000]) {
      const bytes = concat(
        row(SEQ, {}, [attribute(flag | ATTR.shutdown, Uint8Array.of(1))]),
        done(SEQ),
      );
      const result = parse(bytes);
      expectOutcome(
        t,
        result,
        { ...DONE, offset: bytes.length, count: 1 },
        `flag ${flag}: accepted`,
      );
      t.equal(result.columns.shutdown[0], 1, `flag ${flag}: read as SHUTDOWN`);
    }
  });
});

t.test('INET_DIAG_CGROUP_ID', async (t) => {
  const id = 0x1_2345_6789n; // above 2^32: both words must arrive
  t.test('a u64 is read whole, 4-byte aligned as on x86', async (t) => {
    // After a 5-byte SHUTDOWN (padded to 8) the u64 sits at offset 4 mod 8.
    const bytes = concat(
      row(SEQ, { sport: 1 }, [
        attribute(ATTR.shutdown, Uint8Array.of(1)),
        attribute(ATTR.cgroupId, u64(id)),
      ]),
      row(SEQ, { sport: 2 }, [attribute(ATTR.cgroupId, u64(0xffff_ffff_ffff_ffffn))]),
      row(SEQ, { sport: 3, state: 6 }), // TIME_WAIT rows carry no attribute at all
      done(SEQ),
    );
    const result = parse(bytes);
    expectOutcome(t, result, { ...DONE, offset: bytes.length, count: 3 }, 'accepted');
    t.same(
      Array.from(result.columns.cgroupId),
      [id, 0xffff_ffff_ffff_ffffn, 0n],
      'ids; 0 when absent',
    );
    t.equal(result.columns.shutdown[0], 1, 'the attribute before it still read');
  });
  for (const length of [0, 4, 7, 9, 12, 16]) {
    t.test(`a ${length}-byte payload is not a cgroup id`, async (t) => {
      const payload = concat(u64(id), u64(id)).subarray(0, length);
      const bytes = concat(
        row(SEQ, {}, [
          attribute(ATTR.cgroupId, payload),
          attribute(ATTR.skmeminfo, u32s(1, 2, 3, 4, 5, 6, 7, 8, 9)),
        ]),
        done(SEQ),
      );
      const result = parse(bytes);
      expectOutcome(t, result, { ...DONE, offset: bytes.length, count: 1 }, 'the row is kept');
      t.equal(result.columns.cgroupId[0], 0n, 'cgroupId 0 (unknown), not a guess');
      t.equal(result.columns.skmem![8], 9, 'the attribute after it still read');
    });
  }
  t.test('a cgroup id attribute overrunning its message', async (t) => {
    const bad = row(SEQ, {}, [attribute(ATTR.cgroupId, u64(id), { length: 4 + 8 + DONE_LENGTH })]);
    expectOutcome(
      t,
      parse(concat(bad, done(SEQ))),
      malformed('attribute length runs past the message', 0, 0),
      'rejected like any attribute',
    );
  });
  t.test('a short row does not keep the previous row id in reused storage', async (t) => {
    // Rows 1 and 2 land in the same slot of two batches of one row each.
    const bytes = concat(row(SEQ, {}, [attribute(ATTR.cgroupId, u64(id))]), row(SEQ), done(SEQ));
    const first = parse(bytes, { batchRows: 1 });
    t.equal(first.columns.cgroupId[0], id);
    const second = parse(bytes.subarray(first.offset), { batchRows: 1 });
    t.equal(second.columns.cgroupId[0], 0n, 'the second row has none');
  });
});

t.test('INET_DIAG_PROTOCOL', async (t) => {
  const info = attribute(ATTR.info, tcpInfo(280, { rtt: 42 }));
  const bytes = concat(
    row(SEQ, { sport: 1 }, [attribute(ATTR.protocol, Uint8Array.of(17)), info]),
    row(SEQ, { sport: 2 }, [info, attribute(ATTR.protocol, Uint8Array.of(6))]),
    row(SEQ, { sport: 3 }, [attribute(ATTR.protocol, new Uint8Array(0)), info]),
    done(SEQ),
  );
  t.test('destroy events: each row names its protocol, wherever the attribute sits', async (t) => {
    const result = parse(bytes, { protocol: 0, protocolFromAttribute: true });
    expectOutcome(t, result, { ...DONE, offset: bytes.length, count: 3 }, 'accepted');
    const c = result.columns;
    t.same(Array.from(c.protocol), [17, 6, 0], 'UDP, TCP, and 0 from an empty payload');
    t.same(Array.from(c.tcpInfoLength!), [0, 280, 0], 'tcp_info taken for the TCP row only');
    t.same(Array.from(c.rtt!), [0, 42, 0]);
  });
  t.test('dumps: the request names the protocol (RAW rows carry their own)', async (t) => {
    const result = parse(bytes);
    t.same(Array.from(result.columns.protocol), [6, 6, 6], 'the attribute is ignored');
    t.same(Array.from(result.columns.tcpInfoLength!), [280, 280, 280]);
  });
});

t.test('tcp_info of other kernels', async (t) => {
  t.test('104 bytes (3.14 and older)', async (t) => {
    const info = tcpInfo(104, { rtt: 1234, rttVar: 56, rto: 204000, sndCwnd: 10, totalRetrans: 3 });
    // Bytes right after the 104 must not be taken for pacingRate and later fields.
    const bytes = concat(
      row(SEQ, {}, [
        attribute(ATTR.info, info),
        attribute(ATTR.skmeminfo, u32s(0xaaaaaaaa, 0xbbbbbbbb, 0xcccccccc, 0xdddddddd)),
      ]),
      done(SEQ),
    );
    const result = parse(bytes);
    expectOutcome(t, result, { ...DONE, offset: bytes.length, count: 1 }, 'accepted');
    const c = result.columns;
    const batch = new SocketBatch(1, c);
    t.equal(c.tcpInfoLength![0], 104);
    t.same(
      [c.rtt![0], c.rttVar![0], c.rto![0], c.sndCwnd![0], c.totalRetrans![0]],
      [1234, 56, 204000, 10, 3],
      'fields inside 104 bytes',
    );
    t.same(
      [c.pacingRate![0], c.bytesAcked![0], c.bytesReceived![0], c.minRtt![0], c.deliveryRate![0]],
      [0, 0, 0, 0, 0],
      'fields past 104 bytes read 0',
    );
    for (const field of ['rtt', 'rttVar', 'rto', 'sndCwnd', 'totalRetrans'] as const) {
      t.ok(batch.infoCovers(0, field), `${field} is covered`);
    }
    for (const field of [
      'pacingRate',
      'bytesAcked',
      'minRtt',
      'deliveryRate',
      'notsentBytes',
    ] as const) {
      t.notOk(batch.infoCovers(0, field), `${field} is not covered`);
    }
  });
  t.test('232 bytes (the 6.1 uapi size) covers every exported field', async (t) => {
    const bytes = concat(
      row(SEQ, {}, [attribute(ATTR.info, tcpInfo(232, { minRtt: 77, deliveryRate: 9n }))]),
      done(SEQ),
    );
    const c = parse(bytes).columns;
    t.same([c.tcpInfoLength![0], c.minRtt![0], c.deliveryRate![0]], [232, 77, 9]);
    t.ok(new SocketBatch(1, c).infoCovers(0, 'deliveryRate'));
  });
  t.test('300 bytes (a kernel newer than our struct)', async (t) => {
    const fields = {
      infoRetransmits: 2,
      rto: 201000,
      unacked: 4,
      lost: 1,
      lastDataSent: 10,
      lastDataRecv: 20,
      lastAckRecv: 30,
      rtt: 1500,
      rttVar: 750,
      sndCwnd: 42,
      totalRetrans: 9,
      pacingRate: 2n ** 40n + 5n,
      bytesAcked: 2n ** 33n + 1n,
      bytesReceived: 123456789012n,
      notsentBytes: 64,
      minRtt: 1100,
      deliveryRate: 2n ** 35n,
    };
    // Unknown bytes (tail and the fields we do not export) are 0xff.
    const bytes = concat(
      row(SEQ, {}, [attribute(ATTR.info, tcpInfo(300, fields, 0xff))]),
      done(SEQ),
    );
    const result = parse(bytes);
    expectOutcome(t, result, { ...DONE, offset: bytes.length, count: 1 }, 'accepted');
    const c = result.columns;
    t.equal(c.tcpInfoLength![0], 300, 'the length the kernel sent');
    t.same(
      {
        infoRetransmits: c.infoRetransmits![0],
        rto: c.rto![0],
        unacked: c.unacked![0],
        lost: c.lost![0],
        lastDataSent: c.lastDataSent![0],
        lastDataRecv: c.lastDataRecv![0],
        lastAckRecv: c.lastAckRecv![0],
        rtt: c.rtt![0],
        rttVar: c.rttVar![0],
        sndCwnd: c.sndCwnd![0],
        totalRetrans: c.totalRetrans![0],
        pacingRate: c.pacingRate![0],
        bytesAcked: c.bytesAcked![0],
        bytesReceived: c.bytesReceived![0],
        notsentBytes: c.notsentBytes![0],
        minRtt: c.minRtt![0],
        deliveryRate: c.deliveryRate![0],
      },
      {
        infoRetransmits: 2,
        rto: 201000,
        unacked: 4,
        lost: 1,
        lastDataSent: 10,
        lastDataRecv: 20,
        lastAckRecv: 30,
        rtt: 1500,
        rttVar: 750,
        sndCwnd: 42,
        totalRetrans: 9,
        pacingRate: 2 ** 40 + 5,
        bytesAcked: 2 ** 33 + 1,
        bytesReceived: 123456789012,
        notsentBytes: 64,
        minRtt: 1100,
        deliveryRate: 2 ** 35,
      },
      'the first 280 bytes, at their offsets, u64s whole',
    );
    const batch = new SocketBatch(1, c);
    t.ok(
      Object.keys(TCP_INFO_FIELD_ENDS).every((field) =>
        batch.infoCovers(0, field as keyof typeof TCP_INFO_FIELD_ENDS),
      ),
      'every field covered',
    );
  });
  t.test('INFO of a non-TCP protocol is not tcp_info', async (t) => {
    for (const protocol of [17, 262]) {
      const bytes = concat(
        row(SEQ, {}, [attribute(ATTR.info, tcpInfo(96, { rtt: 5 }))]),
        done(SEQ),
      );
      const result = parse(bytes, { protocol });
      expectOutcome(t, result, { ...DONE, offset: bytes.length, count: 1 }, `protocol ${protocol}`);
      t.same(
        [result.columns.protocol[0], result.columns.tcpInfoLength![0], result.columns.rtt![0]],
        [protocol, 0, 0],
        `protocol ${protocol}: INFO ignored`,
      );
    }
  });
});

t.test('SKMEMINFO of other kernels', async (t) => {
  const bytes = concat(
    row(SEQ, { sport: 1 }, [attribute(ATTR.skmeminfo, u32s(1, 2, 3, 4, 5, 6, 7, 8))]),
    row(SEQ, { sport: 2 }, [
      attribute(ATTR.skmeminfo, u32s(11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22)),
    ]),
    row(SEQ, { sport: 3 }, [attribute(ATTR.skmeminfo, u32s(31, 32, 33, 34, 35, 36, 37, 38, 39))]),
    done(SEQ),
  );
  const result = parse(bytes);
  expectOutcome(t, result, { ...DONE, offset: bytes.length, count: 3 }, 'accepted');
  const c = result.columns;
  t.same(
    Array.from(c.skmemLength!),
    [8, 9, 9],
    '8 values (no DROPS, old kernels); 12 values: 9 kept',
  );
  t.same(
    Array.from(c.skmem!),
    [
      1, 2, 3, 4, 5, 6, 7, 8, 0, 11, 12, 13, 14, 15, 16, 17, 18, 19, 31, 32, 33, 34, 35, 36, 37, 38,
      39,
    ],
    'DROPS reads 0 when absent; values past 9 do not spill into the next row',
  );
});

t.test('how a dump ends', async (t) => {
  t.test('NLMSG_ERROR -EINVAL', async (t) => {
    const first = row(SEQ);
    const bytes = concat(first, error(SEQ, -EINVAL));
    expectOutcome(
      t,
      parse(bytes),
      {
        status: 'kernel-error',
        offset: first.length, // the start of the NLMSG_ERROR
        errno: EINVAL,
        detail: 'the kernel rejected the dump request',
        count: 1,
        skippedMessages: 0,
      },
      'errno 22',
    );
  });
  t.test('NLMSG_ERROR shorter than its error code', async (t) => {
    expectOutcome(
      t,
      parse(nlmsg(2, SEQ, Uint8Array.of(0xea, 0xff))),
      malformed('NLMSG_ERROR shorter than its error code', 0, 0),
      '2-byte payload',
    );
  });
  t.test('NLMSG_ERROR 0 (an ACK) ends the dump', async (t) => {
    expectOutcome(t, parse(error(SEQ, 0)), { ...DONE, offset: 0, count: 0 }, 'done, at the ACK');
  });
  t.test('NLMSG_DONE -ENOENT (protocol not built in)', async (t) => {
    expectOutcome(
      t,
      parse(done(SEQ, -ENOENT)),
      {
        status: 'kernel-error',
        offset: DONE_LENGTH, // past the DONE
        errno: ENOENT,
        detail: 'the kernel ended the dump with an error',
        count: 0,
        skippedMessages: 0,
      },
      'errno 2',
    );
  });
  t.test('NLMSG_DONE 0 after rows; bytes after it are left alone', async (t) => {
    const rows = concat(row(SEQ, { sport: 1 }), row(SEQ, { sport: 2 }));
    const result = parse(concat(rows, done(SEQ), row(SEQ, { sport: 3 })));
    expectOutcome(t, result, { ...DONE, offset: rows.length + DONE_LENGTH, count: 2 }, 'done');
    t.same(Array.from(result.columns.localPort), [1, 2]);
  });
  t.test('NLMSG_DONE without a payload (very old kernels)', async (t) => {
    expectOutcome(
      t,
      parse(nlmsg(3, SEQ, new Uint8Array(0))),
      { ...DONE, offset: 16, count: 0 },
      'a 16-byte DONE is success',
    );
  });
  t.test('NLMSG_DONE and NLMSG_ERROR carrying INT32_MIN are not errnos', async (t) => {
    for (const bytes of [done(SEQ, -(2 ** 31)), error(SEQ, -(2 ** 31))]) {
      const result = parse(bytes);
      t.equal(result.status, 'malformed');
      t.equal(result.errno, 74, 'EBADMSG');
      t.match(result.detail, /carries a code that is not an errno/);
    }
  });
});

t.test('sequence numbers and control messages', async (t) => {
  t.test('messages of another request are skipped and counted', async (t) => {
    const bytes = concat(
      row(SEQ + 1, { sport: 1 }),
      row(SEQ, { sport: 2 }),
      done(SEQ - 1, -ENOENT), // an abandoned dump's end is not ours
      error(SEQ + 7, -EINVAL),
      row(SEQ, { sport: 3 }),
      done(SEQ),
    );
    const result = parse(bytes);
    expectOutcome(
      t,
      result,
      { ...DONE, offset: bytes.length, count: 2, skippedMessages: 3 },
      'two rows, three skipped',
    );
    t.same(Array.from(result.columns.localPort), [2, 3]);
  });
  t.test('NLMSG_NOOP is skipped', async (t) => {
    const bytes = concat(nlmsg(NLMSG_NOOP, SEQ, new Uint8Array(0)), row(SEQ), done(SEQ));
    expectOutcome(
      t,
      parse(bytes),
      { ...DONE, offset: bytes.length, count: 1, skippedMessages: 1 },
      'one row, the NOOP skipped',
    );
  });
  t.test('an unexpected message type', async (t) => {
    const first = row(SEQ);
    for (const type of [0x10, 21, TCPDIAG_GETSOCK]) {
      const bytes = concat(first, row(SEQ, {}, [], { type }), done(SEQ));
      expectOutcome(
        t,
        parse(bytes),
        malformed('unexpected netlink message type in a sock_diag dump', first.length, 1),
        `type ${type}`,
      );
    }
  });
  t.test('legacy requests expect TCPDIAG_GETSOCK rows', async (t) => {
    const legacyRow = row(SEQ, {}, [], { type: TCPDIAG_GETSOCK });
    const bytes = concat(legacyRow, done(SEQ));
    expectOutcome(
      t,
      parse(bytes, { legacy: true, family: 0 }),
      { ...DONE, offset: bytes.length, count: 1 },
      'type-18 rows accepted',
    );
    expectOutcome(
      t,
      parse(concat(row(SEQ), done(SEQ)), { legacy: true, family: 0 }),
      malformed('unexpected netlink message type in a sock_diag dump', 0, 0),
      'a type-20 row in a legacy dump',
    );
  });
});

t.test('a full batch stops at the row that did not fit', async (t) => {
  const rows = [row(SEQ, { sport: 1 }), row(SEQ, { sport: 2 }), row(SEQ, { sport: 3 })];
  const bytes = concat(...rows, done(SEQ));
  const first = parse(bytes, { batchRows: 1 });
  expectOutcome(
    t,
    first,
    { ...DONE, status: 'batch-full', offset: rows[0]!.length, count: 1 },
    'batch-full at the second message',
  );
  t.same(Array.from(first.columns.localPort), [1]);
  const second = parse(bytes.subarray(first.offset), { batchRows: 1 });
  expectOutcome(
    t,
    second,
    { ...DONE, status: 'batch-full', offset: rows[1]!.length, count: 1 },
    'batch-full at the third message',
  );
  const third = parse(bytes.subarray(first.offset + second.offset), { batchRows: 1 });
  expectOutcome(
    t,
    third,
    { ...DONE, offset: rows[2]!.length + DONE_LENGTH, count: 1 },
    'then done',
  );
  t.same(
    [second.columns.localPort[0], third.columns.localPort[0]],
    [2, 3],
    'resuming at offset loses nothing',
  );
  const exact = parse(concat(...rows), { batchRows: 3 });
  expectOutcome(
    t,
    exact,
    { ...DONE, status: 'continue', offset: concat(...rows).length, count: 3 },
    'a batch filled by the last row is not batch-full',
  );
});

t.test('a rejected row does not leak into the batch', async (t) => {
  const good = row(SEQ, { sport: 1 }, [attribute(ATTR.skmeminfo, u32s(1, 2, 3, 4, 5, 6, 7, 8, 9))]);
  const bad = row(SEQ, { sport: 2 }, [
    attribute(ATTR.skmeminfo, u32s(9, 9, 9, 9, 9, 9, 9, 9, 9)),
    attribute(ATTR.info, new Uint8Array(4), { length: 200 }),
  ]);
  const result = parse(concat(good, bad, done(SEQ)));
  expectOutcome(
    t,
    result,
    malformed('attribute length runs past the message', good.length, 1),
    'the second row is rejected',
  );
  t.equal(result.columns.skmem!.length, 9, 'the batch view holds one row');
  t.same(Array.from(result.columns.skmem!), [1, 2, 3, 4, 5, 6, 7, 8, 9], 'the good row only');
});
