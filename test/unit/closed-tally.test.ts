// Closed connections without a kernel: destroy events recorded on 6.18
// (test/fixtures/destroy-tcp.bin) and built by hand, classified and added
// up as the collector does. No root, no netlink socket.
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import {
  classify,
  emptyVerdict,
  OUTCOMES,
  type PortContext,
  type Verdict,
} from '../../src/closed/classify';
import { BYTE_BUCKETS, ClosedTally, RETIRE_MS } from '../../src/closed/tally';
import { SocketBatch } from '../../src/diag/socket-batch';
import {
  connectionEnds,
  type DestroyEvent,
  destroyBatch,
  parseDestroyEvents,
} from '../helpers/destroy-events';
import { FIXTURES } from '../helpers/paths';

const EPHEMERAL = [32768, 60999] as const;
const context = (...services: number[]): PortContext => ({
  isService: (port) => services.includes(port),
  ephemeral: EPHEMERAL,
});

function verdicts(batch: SocketBatch, ports: PortContext): string[] {
  const out: Verdict = emptyVerdict();
  return Array.from({ length: batch.count }, (_, row) => {
    classify(batch, row, ports, out);
    if (!out.connection) return 'no connection';
    return `${out.protocol} ${out.direction} ${out.port || 'unknown'} ${OUTCOMES[out.outcome]}`;
  });
}

t.test('the recorded events of every kind of ending', async (t) => {
  const file = path.join(FIXTURES, 'destroy-tcp.bin');
  const bytes = new Uint8Array(fs.readFileSync(file));
  const parsed = parseDestroyEvents(bytes);
  const batch = new SocketBatch(parsed.count, parsed.columns);
  // Both listeners sit on ephemeral ports (bound to port 0): only the
  // listener list tells their connections inbound.
  const perFamily = (port: number) => [
    `tcp outbound ${port} closed`, // FIN both ways, the client
    `tcp inbound ${port} closed`, // and the server
    'tcp outbound unknown aborted', // the client closed with SO_LINGER 0: wiped
    `tcp inbound ${port} reset`, // its server got the RST
    `tcp inbound ${port} aborted`, // the server closed with SO_LINGER 0
    `tcp outbound ${port} reset`, // its client got the RST
    `tcp inbound ${port} unread`, // the server closed 400 bytes unread
    `tcp outbound ${port} reset`, // and reset its client
    'no connection', // the listener
  ];
  t.same(
    verdicts(batch, context(49755, 46961)),
    [...perFamily(49755), ...perFamily(46961)],
    'each end as the scenario made it',
  );
  const blind = verdicts(batch, context());
  t.match(
    blind[1],
    /^tcp outbound 46638 /,
    'without the listener list, an ephemeral listener port looks like a client port',
  );
});

t.test('endings built by hand', async (t) => {
  const cases: [string, DestroyEvent, string][] = [
    [
      'given up: unacknowledged data, retransmissions',
      {
        sport: 40000,
        dport: 5432,
        wqueue: 100,
        info: { bytesAcked: 1, bytesSent: 400, bytesRetrans: 300, totalRetrans: 3, minRtt: 50 },
      },
      'tcp outbound 5432 timeout',
    ],
    [
      'keepalive probes unanswered',
      { sport: 8080, dport: 41000, info: { bytesAcked: 10, bytesSent: 10, probes: 9 } },
      'tcp inbound 8080 timeout',
    ],
    [
      'a non-blocking connect refused, closed later',
      { sport: 40001, dport: 443, info: { segsOut: 1, segsIn: 1 } },
      'tcp outbound 443 failed',
    ],
    [
      'a blocking connect refused: wiped, no RTT sample',
      { sport: 40002, dport: 0, wqueue: 3 },
      'tcp outbound unknown failed',
    ],
    [
      'a linger-0 abort by a listener not seen yet (non-ephemeral port)',
      { sport: 9000, dport: 0, wqueue: 65538, info: { minRtt: 10 } },
      'tcp inbound 9000 aborted',
    ],
    [
      'a client port outside the range toward an ephemeral one: inbound',
      { sport: 9001, dport: 45000, info: { bytesAcked: 11, bytesSent: 10, bytesReceived: 6 } },
      'tcp inbound 9001 closed',
    ],
    [
      'one byte unread is the FIN: a reset, not unread',
      { sport: 8080, dport: 41001, rqueue: 1, wqueue: 50, info: { bytesSent: 50 } },
      'tcp inbound 8080 reset',
    ],
    [
      'tcp_info of a 4.18 kernel (no bytes_sent): closed, a reset cannot be told',
      { sport: 8080, dport: 41002, infoLength: 192, info: { bytesAcked: 5 } },
      'tcp inbound 8080 closed',
    ],
    ['no tcp_info at all', { sport: 8080, dport: 41003, infoLength: 0 }, 'tcp inbound 8080 closed'],
    ['an unconnected socket', { sport: 0, dport: 0 }, 'no connection'],
    [
      'a listener shut down before close(): wiped, 0 + 2 queued',
      { sport: 8080, dport: 0, wqueue: 2 },
      'no connection',
    ],
    [
      'a blocking connect that never got an answer: wiped, 0 + 2 queued',
      { sport: 40003, dport: 0, wqueue: 2 },
      'tcp outbound unknown failed',
    ],
    ['a UDP client socket', { sport: 50000, dport: 53, protocol: 17 }, 'udp outbound 53 closed'],
    ['a UDP server socket', { sport: 53, dport: 0, protocol: 17 }, 'udp inbound 53 closed'],
  ];
  const batch = destroyBatch(cases.map(([, event]) => event));
  const got = verdicts(batch, context(8080));
  cases.forEach(([name, , want], i) => t.equal(got[i], want, name));
});

function fills(tally: ClosedTally) {
  return tally.list().map((e) => `${e.port}/${e.direction} ${e.total}`);
}

t.test('200 connections of known sizes: counts and buckets exact', async (t) => {
  let now = 1_000_000;
  const tally = new ClosedTally(16, () => now);
  const events: DestroyEvent[] = [];
  for (let i = 0; i < 200; i++) events.push(...connectionEnds('fin', 8080, 40000 + i, 591, 1500));
  for (let i = 0; i < 20; i++) events.push(...connectionEnds('unread', 8080, 41000 + i, 300, 0));
  for (let i = 0; i < 10; i++)
    events.push(...connectionEnds('client-reset', 8080, 42000 + i, 100, 50));
  tally.add(destroyBatch(events), context(8080));
  const [inbound, outbound, unknown] = tally.list();
  t.same(fills(tally), ['8080/inbound 230', '8080/outbound 220', 'unknown/outbound 10']);
  const byOutcome = (e: typeof inbound) =>
    Object.fromEntries(OUTCOMES.map((o, i) => [o, e!.outcomes[i]]).filter(([, n]) => n));
  t.same(byOutcome(inbound), { closed: 200, unread: 20, reset: 10 }, 'inbound outcomes');
  t.same(byOutcome(outbound), { closed: 200, reset: 20 }, 'outbound outcomes');
  t.same(byOutcome(unknown), { aborted: 10 }, 'the wiped linger-0 clients');
  const received = inbound!.histograms!.receivedBytes;
  t.equal(received.total, 230, 'every inbound end that carried traffic is observed');
  t.equal(received.sum, 200 * 592 + 20 * 300 + 10 * 100, 'exact bytes (the FIN counts one)');
  const at = (bound: number) => received.counts[BYTE_BUCKETS.indexOf(bound)];
  t.same([at(64), at(256), at(1024)], [0, 10, 220], 'each in its bucket');
  t.equal(outbound!.histograms!.ackedBytes.sum, 200 * 593 + 20 * 301, 'acked: SYN and FIN count');
  t.equal(unknown!.histograms, null, 'no histograms for the port the kernel wiped');
  const facts = tally.facts(0, (now += 2000));
  t.same(
    facts.ports.map((p) => [p.port, p.direction, p.closes, p.medianBytes, p.medianSegments]),
    [
      [8080, 'inbound', 230, 592 + 1501, 9],
      [8080, 'outbound', 220, 1501 + 593, 9],
    ],
    'medians of the most recent connections',
  );
  t.equal(facts.windowSeconds, 2, 'the window starts with the tally');
  t.equal(facts.perSecond, 460 / 2, 'every close counts in the total, unknown port included');
});

t.test('bounded: later pairs go to port other, idle ones give their place up', async (t) => {
  let now = 0;
  const tally = new ClosedTally(2, () => now);
  const one = (port: number) => connectionEnds('fin', 8080, port, 10, 10)[0]!;
  tally.add(destroyBatch([{ ...one(40000), dport: 5432 }]), context());
  tally.add(destroyBatch([{ ...one(40001), dport: 6379 }]), context());
  tally.add(
    destroyBatch([
      { ...one(40002), dport: 443 },
      { ...one(40003), dport: 80 },
    ]),
    context(),
  );
  t.same(fills(tally), ['5432/outbound 1', '6379/outbound 1', 'other/outbound 2']);
  now = RETIRE_MS + 1;
  tally.add(destroyBatch([{ ...one(40004), dport: 6379 }]), context());
  tally.retire();
  t.same(
    fills(tally),
    ['6379/outbound 2', 'other/outbound 2'],
    '5432 idle for 15 minutes: retired',
  );
  tally.add(destroyBatch([{ ...one(40005), dport: 443 }]), context());
  t.same(
    fills(tally),
    ['6379/outbound 2', '443/outbound 1', 'other/outbound 2'],
    'its place goes to the next port seen; other never goes down',
  );
  const facts = tally.facts(0, now + 120_000);
  t.same(facts.ports, [], 'nothing closed in the last minute: no rates');
});

t.test('UDP sockets are counted apart, bounded the same way', async (t) => {
  const tally = new ClosedTally(1, () => 0);
  tally.add(
    destroyBatch([
      { sport: 50000, dport: 53, protocol: 17 },
      { sport: 50001, dport: 53, protocol: 17 },
      { sport: 123, dport: 0, protocol: 17 },
    ]),
    context(),
  );
  t.same([...tally.udp], [[53 * 2 + 1, 2]], 'outbound to 53');
  t.same(tally.udpOther, { inbound: 1, outbound: 0 }, 'beyond the limit');
  t.same(tally.list(), [], 'no TCP series from UDP sockets');
});
