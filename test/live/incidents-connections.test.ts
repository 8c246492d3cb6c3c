// Connection incidents for real: receivers whose buffers collapse (and
// autotuned fast readers beside them that must stay quiet), ESTABLISHED
// connections whose clients vanish (and keepalive ones that are not
// ghosts), and resets of three kinds, each named with its remedy.
import { execFileSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { BALANCER_ADDRESS, balancer, SERVER_ADDRESS } from '../helpers/balancer';
import { assertSilent, dropsBySs, Lab, rise } from '../helpers/lab';
import { unavailable } from '../helpers/requirements';

const skip = unavailable('namespaces');

t.test('receive_buffer_collapse: tiny SO_RCVBUF, readers that never read', { skip }, async (t) => {
  const lab = await Lab.create(t);
  const listener = await lab.holder.send({ op: 'listen', port: 7001 });
  // Two receivers shrink their buffers after the handshake, when the window
  // they advertised is already large; they never read. One gets 100-byte
  // segments (collapsed), the other 64 KiB ones (pruned, then dropped).
  const small = await lab.holder.send({ op: 'connect', host: '127.0.0.1', port: 7001 });
  await lab.holder.send({ op: 'accept', id: listener.id, rcvbuf: 4096 });
  const large = await lab.holder.send({ op: 'connect', host: '127.0.0.1', port: 7001 });
  await lab.holder.send({ op: 'accept', id: listener.id, rcvbuf: 4096 });
  assertSilent(t, lab.scrape(), 'receive_buffer_collapse', 'before the event');
  const n1 = lab.nstat();
  await lab.holder.send({
    op: 'send',
    id: small.ids[0],
    bytes: 1_000_000,
    chunk: 100,
    nodelay: true,
    timeout: 0.3,
  });
  await lab.holder.send({ op: 'send', id: large.ids[0], bytes: 2_000_000, timeout: 0.3 });
  await sleep(200);
  const ss = dropsBySs(lab);
  const n2 = lab.nstat();
  const s2 = lab.scrape();
  t.equal(s2.detected('receive_buffer_collapse'), 1, 'fires after the event');
  for (const key of ['TcpExt.TCPRcvCollapsed', 'TcpExt.RcvPruned', 'TcpExt.TCPRcvQDrop']) {
    const value = s2.evidence('receive_buffer_collapse', `${key} increase`)!;
    t.ok(
      rise(n1, n2, key) > 0 && value >= rise(n1, n2, key),
      `${key}: ${value}, nstat ${rise(n1, n2, key)}`,
    );
  }
  t.ok(ss.sockets > 0, 'ss -m: a receiver has drops');
  const finding = lab.finding('receive_buffer_collapse');
  t.ok(
    finding.details.some((d) =>
      /^service port 7001: \d+ sockets? with drops \(\d+ dropped\)$/.test(d),
    ),
    'names the port of the sockets with drops',
  );
  t.match(finding.cause, /^TcpExt\.(TCPRcvCollapsed|RcvPruned|TCPRcvQDrop) rose by \d+/);
});

t.test('control: autotuned fast readers', { skip }, async (t) => {
  const lab = await Lab.create(t);
  const server = await lab.holder.send({
    op: 'serve',
    port: 7002,
    keepalive: true,
    response: 1_000_000,
  });
  const n1 = lab.nstat();
  await lab.holder.send({
    op: 'requests',
    host: '127.0.0.1',
    port: server.port,
    connections: 4,
    count: 50,
  });
  const n2 = lab.nstat();
  t.comment(`PruneCalled +${rise(n1, n2, 'TcpExt.PruneCalled')} while 200 MB were read promptly`);
  assertSilent(t, lab.scrape(), 'receive_buffer_collapse', 'for receivers that drain promptly');
});

t.test('keepalive_ghosts: clients that vanish, and clients with keepalive', { skip }, async (t) => {
  const lab = await Lab.create(t, { args: ['--collector.incidents.keepalive-idle=1'] });
  const plain = await lab.holder.send({ op: 'listen', host: '0.0.0.0', port: 5432 });
  const kept = await lab.holder.send({
    op: 'listen',
    host: '0.0.0.0',
    port: 5433,
    keepalive: true,
  });
  const client = balancer(t, lab.ns, { timestamps: 1 });
  await client.holder.send({ op: 'connect', host: SERVER_ADDRESS, port: 5432, count: 3 });
  const accepted = await lab.holder.send({ op: 'accept', id: plain.id, count: 3 });
  await client.holder.send({
    op: 'connect',
    host: SERVER_ADDRESS,
    port: 5433,
    count: 2,
    keepalive: true,
  });
  await lab.holder.send({ op: 'accept', id: kept.id, count: 2 });
  assertSilent(t, lab.scrape(), 'keepalive_ghosts', 'while the connections are fresh');
  // The client host vanishes: it drops everything from now on.
  const rules =
    'table inet gone {\n  chain in {\n    type filter hook input priority 0; policy drop;\n  }\n}\n';
  execFileSync('nsenter', [`--net=${client.ns.path}`, 'nft', '-f', '-'], { input: rules });
  // One server socket still has something to say: it will retransmit, back off.
  await lab.holder.send({ op: 'send', id: accepted.ids[0], bytes: 1000 });
  await sleep(1500);
  const s = lab.scrape();
  t.equal(s.detected('keepalive_ghosts'), 1, 'fires past the 1 s threshold');
  const established = lab
    .ss(['-tnoa'])
    .filter((r) => r.state === 'established' && r.localPort === 5432);
  t.equal(established.length, 3, 'ss: the three server sockets are still ESTABLISHED');
  t.equal(
    s.evidence('keepalive_ghosts', 'established, no keepalive, idle > 1 s'),
    3,
    'not the keepalive ones',
  );
  const finding = lab.finding('keepalive_ghosts');
  t.match(finding.details, [
    /^service port 5432: 3 sockets from 1 peer; 1 with unacknowledged data, 1 backing off: those peers are not answering$/,
    /^idle for up to 1 h: 3$/,
    /^1 of them are certainly dead or unreachable/,
  ]);
  t.notMatch(
    finding.details.join('\n'),
    BALANCER_ADDRESS,
    'no address without the peers collector',
  );
  t.notMatch(finding.details.join('\n'), /5433/, 'keepalive connections are not ghosts');
});

t.test('resets: failed connects, linger-0 aborts, close with unread data', { skip }, async (t) => {
  const failed = await Lab.create(t, { args: ['--collector.incidents.resets-rate=1'] });
  const n1 = failed.nstat();
  await failed.holder.send({ op: 'connect', host: '127.0.0.1', port: 9, count: 30 });
  const n2 = failed.nstat();
  const refused = failed.finding('resets');
  t.equal(refused.fired, true);
  t.equal(rise(n1, n2, 'Tcp.AttemptFails'), 30, 'nstat: 30 connects failed');
  t.match(refused.cause, /Tcp\.AttemptFails: handshakes given up/);
  t.match(refused.remedy, /nothing listens at the target/);

  const aborts = await Lab.create(t, { args: ['--collector.incidents.resets-rate=1'] });
  const listener = await aborts.holder.send({ op: 'listen', port: 7003 });
  const pairs = await aborts.holder.send({
    op: 'connect',
    host: '127.0.0.1',
    port: 7003,
    count: 20,
  });
  await aborts.holder.send({ op: 'accept', id: listener.id, count: 20 });
  const n3 = aborts.nstat();
  await aborts.holder.send({ op: 'close', ids: pairs.ids, linger0: true });
  const n4 = aborts.nstat();
  t.equal(rise(n3, n4, 'TcpExt.TCPAbortOnData'), 20, 'nstat: 20 linger-0 closes');
  const linger = aborts.finding('resets');
  t.match(
    linger.cause,
    /TcpExt\.TCPAbortOnData: data arrived after this side closed, or it closed with SO_LINGER 0/,
  );
  t.match(linger.remedy, /stop the linger-0 close/);

  const unread = await Lab.create(t, { args: ['--collector.incidents.resets-rate=1'] });
  const server = await unread.holder.send({ op: 'listen', port: 7004 });
  const clients = await unread.holder.send({
    op: 'connect',
    host: '127.0.0.1',
    port: 7004,
    count: 20,
  });
  const children = await unread.holder.send({ op: 'accept', id: server.id, count: 20 });
  for (const id of clients.ids as number[]) await unread.holder.send({ op: 'send', id, bytes: 10 });
  await sleep(100);
  await unread.holder.send({ op: 'close', ids: children.ids });
  const closeFinding = unread.finding('resets');
  t.match(closeFinding.cause, /TcpExt\.TCPAbortOnClose: connections closed with unread data/);
  t.match(closeFinding.remedy, /read or discard it before close/);
});
