// The split scan on real sockets: one walk, two parts and three parts must
// aggregate the same table to the same numbers, each part must get its share,
// and the counts must be ss's. The table mixes families, service and client
// sides, TIME_WAIT, an unaccepted backlog and half-open requests, with
// ephemeral ports on both sides of every split point.
import { availableParallelism } from 'node:os';
import t from 'tap';
import { unavailable } from '../helpers/requirements';
import { parseFlags } from '../../src/cli/flags';
import { COLLECTORS } from '../../src/collectors';
import { resolveParallelism, scanTable } from '../../src/scan/scan';
import type { ScanOptions, TableScan } from '../../src/scan/table-scan';
import { WalkChooser } from '../../src/scan/walk-choice';
import { testNamespace } from '../helpers/namespaces';
import { parseSs } from '../helpers/ss';

const byAddress = (peers: { address: string; sockets: number }[]) =>
  peers.map(({ address, sockets }) => `${address} ${sockets}`).sort();

const skip = unavailable('namespaces');

t.test('parallel parts add up to the single walk, and to ss', { skip }, async (t) => {
  const { ns, holder } = testNamespace(t);
  ns.run('ip', ['route', 'add', '10.66.0.0/16', 'dev', 'lo']);
  ns.run('sysctl', ['-q', '-w', 'net.ipv4.tcp_syncookies=0']);
  // The kernel picks consecutive ephemeral ports per destination from a
  // hashed start, so 40 destinations spread the ports over the range.
  const web = await holder.send({
    op: 'listen',
    host: '0.0.0.0',
    port: 8080,
    backlog: 512,
    keepalive: true,
  });
  for (let host = 1; host <= 40; host++) {
    await holder.send({ op: 'connect', host: `127.0.0.${host}`, port: 8080, count: 8 });
  }
  await holder.send({ op: 'accept', id: web.id, count: 300 }); // 20 stay in the accept queue
  const v6 = await holder.send({ op: 'listen', family: 'inet6', host: '::1', port: 443 });
  await holder.send({ op: 'connect', family: 'inet6', host: '::1', port: 443, count: 100 });
  await holder.send({ op: 'accept', id: v6.id, count: 100 });
  const tw = await holder.send({ op: 'timewait', count: 150, keepListener: true });
  // Half-open requests with source ports on both sides of the split points.
  const syn = await holder.send({ op: 'listen', port: 9000, backlog: 64 });
  await holder.send({
    op: 'synFlood',
    source: '10.66.0.1',
    port: 9000,
    count: 8,
    sourcePort: 33000,
  });
  await holder.send({
    op: 'synFlood',
    source: '10.66.0.2',
    port: 9000,
    count: 8,
    sourcePort: 55000,
  });
  t.ok(syn.port === 9000 && tw.made === 150, 'table built');

  const options = (parallelism: number): ScanOptions => ({
    procfs: '/proc',
    netns: ns.path,
    trackPeers: true,
    peersLimit: 100, // all of them: ties among the top would order by arrival
    tcpInfo: true,
    ghostIdleSeconds: 3600,
    parallelism,
    batchSize: 64, // many batches from every part, interleaved
  });
  const view = (scan: TableScan) => ({
    rows: scan.rows,
    states: [...scan.totals.tcp.states],
    udpStates: [...scan.totals.udp.states],
    receiveQueue: scan.totals.tcp.receiveQueueBytes,
    sendQueue: scan.totals.tcp.sendQueueBytes,
    drops: scan.totals.tcp.drops,
    timers: [...scan.timers],
    listeners: [...scan.listenerPorts].sort((a, b) => a - b),
    services: [...scan.listenerPorts]
      .sort((a, b) => a - b)
      .map((port) => [port, [...scan.portStates(port)]]),
    halfOpen: [...scan.halfOpen].sort(),
    timeWaitByRemotePort: [...scan.timeWaitByRemotePort.entries()].filter(([, n]) => n > 0),
    rttObservations: scan.rtt.total,
    idle: [scan.idleWithKeepalive.total, scan.idleWithoutKeepalive.total],
    establishedPeers: byAddress(scan.peers.topPeers(1)),
    timeWaitPeers: byAddress(scan.peers.topPeers(6)),
    busiestPorts: scan.peers.busiestTuple(true).ports,
  });

  const single = await scanTable(options(1));
  const expected = view(single);
  t.equal(single.partRows.length, 1, 'parallelism 1 is one walk');
  // Auto: a table this small is walked once, and the walk is measured.
  const walks = new WalkChooser(availableParallelism());
  const auto = await scanTable({ ...options(0), walks });
  t.same(view(auto), expected, 'auto aggregates like one walk');
  t.equal(auto.partRows.length, 1, 'auto walks a small table once');
  t.equal(
    walks.state().lastRows,
    single.rows - view(single).udpStates.reduce((a, b) => a + b, 0),
    'auto learned the TCP rows',
  );
  for (const parallelism of [2, 3]) {
    const scan = await scanTable(options(parallelism));
    t.same(view(scan), expected, `${parallelism} parts aggregate exactly like one walk`);
    t.equal(scan.partRows.length, parallelism, `${parallelism} parts ran`);
    const biggest = Math.max(...scan.partRows);
    t.ok(
      scan.partRows.every((rows) => rows > 0) &&
        biggest < 0.8 * (scan.rows - scan.listenerPorts.size),
      `every part got a share: ${scan.partRows.join(' + ')}`,
    );
  }

  // And the numbers are ss's.
  const ss = parseSs(ns.run('ss', ['-tanH']));
  const count = (state: string) => ss.filter((row) => row.state === state).length;
  const states = single.totals.tcp.states;
  t.equal(states[1]! + states[17]!, count('established'), 'ESTABLISHED == ss');
  t.equal(states[6]! + states[22]!, count('time_wait'), 'TIME_WAIT == ss');
  t.equal(states[3]! + states[19]!, count('syn_recv'), 'SYN_RECV == ss');
  t.equal(states[10]! + states[26]!, count('listen'), 'LISTEN == ss');
  t.equal(states[17], 200, 'the IPv6 pairs');
  t.equal(
    [...single.halfOpen.values()].reduce((a, b) => a + b, 0),
    16,
    'sixteen half-open requests',
  );
});

t.test('the default (0) is auto: a chooser that decides scan by scan', async (t) => {
  const auto = resolveParallelism(0);
  t.equal(auto.parallelism, 0);
  t.ok(auto.walks instanceof WalkChooser, 'auto comes with its chooser');
  t.same(resolveParallelism(1), { parallelism: 1 });
  t.same(resolveParallelism(4), { parallelism: 4 });
  const clamped = parseFlags(['--collector.sockets.parallel-dumps=100'], COLLECTORS);
  t.equal(clamped.settings.sockets.parallelDumps, 8, 'capped');
  t.match(clamped.clamped, [/parallel-dumps=100 is above its maximum: using 8/]);
});
