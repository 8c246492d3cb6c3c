// The closed collector over a tracker fed canned batches by a fake event
// source (no netlink socket): the families and their names, lost events,
// a subscriber that fails and comes back, the incident details.
import pino from 'pino';
import t from 'tap';
import { ClosedTracker } from '../../src/closed/tracker';
import { closedCollector } from '../../src/collectors/closed';
import { ScrapeSources } from '../../src/collectors/sources';
import { createCollector, sourceConfig } from '../helpers/context';
import { connectionEnds, destroyBatch, FakeSource } from '../helpers/destroy-events';
import { evidence, quietTable, run, timeWaitPort } from '../helpers/incidents';

const turn = () => new Promise((resolve) => setImmediate(resolve));

function tracker(sources: FakeSource[], listening = [8080]) {
  let opened = 0;
  const tr = new ClosedTracker({
    udp: false,
    portsLimit: 16,
    receiveBufferBytes: 1 << 20,
    listenerPorts: async () => listening,
    portRange: async () => ({ range: [32768, 60999], known: true }),
    log: pino({ level: 'silent' }),
    retrySeconds: 0.05,
    subscribe: async () => {
      const source = sources[opened++];
      if (!source)
        throw Object.assign(new Error('EMFILE: out of file descriptors'), { code: 'EMFILE' });
      return source;
    },
  });
  return tr;
}

async function scrape(tr: ClosedTracker) {
  const sources = new ScrapeSources({ ...sourceConfig(), closed: tr }, false);
  const collector = createCollector(closedCollector);
  return collector.collect({ log: pino({ level: 'silent' }), sources, now: Date.now() });
}

t.test('families, values and lost events', async (t) => {
  const source = new FakeSource();
  const tr = tracker([source]);
  t.teardown(() => tr.close());
  await t.rejects(tr.ready(), /never started/, 'not subscribed before start()');
  await tr.start();
  source.push(
    destroyBatch([
      ...connectionEnds('fin', 8080, 40000, 591, 0),
      ...connectionEnds('client-reset', 8080, 40001, 1, 1),
    ]),
  );
  await turn();
  source.counts = { kernelDrops: 5, overruns: 2, queueDrops: 1 };
  const families = await scrape(tr);
  t.same(
    families.map((f) => `${f.name} ${f.type}`),
    [
      'sockdiag_closed_connections_total counter',
      'sockdiag_closed_connection_received_bytes histogram',
      'sockdiag_closed_connection_acked_bytes histogram',
      'sockdiag_closed_connection_segments histogram',
      'sockdiag_closed_connection_min_rtt_seconds histogram',
      'sockdiag_closed_connection_retransmitted_segments histogram',
      'sockdiag_closed_events_lost_total counter',
    ],
    'the names the contract spells, no UDP family without --collector.closed.udp',
  );
  const total = families[0]!.values.filter((v) => v.value > 0).map((v) => v.labels);
  t.same(total, [
    { port: '8080', direction: 'inbound', outcome: 'closed' },
    { port: '8080', direction: 'inbound', outcome: 'reset' },
    { port: '8080', direction: 'outbound', outcome: 'closed' },
    { port: 'unknown', direction: 'outbound', outcome: 'aborted' },
  ]);
  const inboundCount = families[1]!.values.find(
    (v) =>
      v.metricName === 'sockdiag_closed_connection_received_bytes_count' &&
      v.labels?.direction === 'inbound',
  );
  t.equal(inboundCount?.value, 2, 'both inbound ends carried traffic');
  t.notOk(
    families.some((f) =>
      f.values.some((v) => Object.keys(v.labels ?? {}).some((l) => /addr|peer/.test(l))),
    ),
    'no address label anywhere',
  );
  t.equal(families.at(-1)!.values[0]!.value, 6, 'lost = kernel drops + queue drops');
  t.match(
    tr.notes()[0],
    /6 destroy events lost .*\(5 dropped by the kernel in 2 receive buffer overruns, 1 not read in time.*lower bound.*capped by net.core.rmem_max/,
  );
});

t.test('a failing subscriber: reported, reopened, counts carry on', async (t) => {
  const first = new FakeSource();
  const second = new FakeSource();
  const tr = tracker([first, second]);
  t.teardown(() => tr.close());
  await tr.start();
  first.counts = { kernelDrops: 3 };
  first.push(destroyBatch(connectionEnds('fin', 8080, 40000, 10, 10)));
  await turn();
  first.fail(new Error('ENOMEM: the receiver failed'));
  await turn();
  t.ok(first.closed, 'the failed subscriber is closed');
  await t.rejects(scrape(tr), /ENOMEM/, 'the collector fails while it is down (success 0)');
  t.match(tr.notes().join('\n'), /subscriber failed \(ENOMEM: the receiver failed\); retrying/);
  await new Promise((resolve) => setTimeout(resolve, 150));
  second.push(destroyBatch(connectionEnds('fin', 8080, 40001, 10, 10)));
  await turn();
  const families = await scrape(tr);
  const closed = families[0]!.values.find(
    (v) => v.labels?.direction === 'inbound' && v.labels?.outcome === 'closed',
  );
  t.equal(closed?.value, 2, 'the counter went on across the reopen');
  t.equal(families.at(-1)!.values[0]!.value, 3, 'and so did the lost events of the first');
  tr.close();
  t.ok(second.closed, 'close() closes the subscriber');
});

t.test('a subscriber that cannot open at all', async (t) => {
  const tr = tracker([]);
  t.teardown(() => tr.close());
  await t.rejects(tr.start(), /EMFILE/);
  await t.rejects(scrape(tr), /EMFILE/, 'every scrape says why');
});

t.test('churn and TIME_WAIT reuse say what the connections carried', async (t) => {
  const closed = {
    windowSeconds: 60,
    perSecond: 240,
    lost: 0,
    ports: [
      {
        port: 19561,
        direction: 'inbound' as const,
        closes: 600,
        perSecond: 10,
        medianBytes: 300,
        medianSegments: 9,
      },
      {
        port: 8080,
        direction: 'inbound' as const,
        closes: 13800,
        perSecond: 230,
        medianBytes: 591,
        medianSegments: 9,
      },
      {
        port: 5432,
        direction: 'outbound' as const,
        closes: 60,
        perSecond: 1,
        medianBytes: 90000,
        medianSegments: 80,
      },
    ],
  };
  const busy = { 'Tcp.PassiveOpens': 2300, 'Tcp.ActiveOpens': 0 };
  const churn = run([{ at: 0 }, { at: 10, counters: busy, closed }]).get('connection_churn')!;
  t.same(
    churn.details,
    [
      'service port 8080: 230 connections closed per second carrying a median of 591 bytes in 9 segments: about one request per connection',
      'connections to port 5432: 1.00 connections closed per second carrying a median of 90000 bytes',
    ],
    "the exporter's own port left out; one request only where the segments say so",
  );
  t.equal(evidence(churn, 'connections closed per second'), 240);
  const without = run([{ at: 0 }, { at: 10, counters: busy }]).get('connection_churn')!;
  t.equal(
    evidence(without, 'connections closed per second'),
    undefined,
    'none without the collector',
  );
  const pool = timeWaitPort({
    serverSide: 64,
    peers: 1,
    topPeer: { sockets: 64, lowestPort: 40000, highestPort: 40063, soonestExpiryMs: 57000 },
    withoutTimestamps: 3,
  });
  const snat = (at: number) => ({
    at,
    closed,
    table: quietTable({ timeWait: 64, timeWaitPorts: [pool] }),
  });
  const reuse = run([snat(0), snat(10)]).get('time_wait_reuse')!;
  t.equal(reuse.fired, true);
  t.equal(
    reuse.details[2],
    'service port 8080: 230 connections closed per second carrying a median of 591 bytes in 9 segments: about one request per connection',
  );
});
