// The listener incidents for real, each in its own namespace: an accept
// queue that overflows, a SYN queue flooded from an address nobody answers
// for (with cookies and without), SYN cookies always on; and a busy
// keep-alive service beside them that must stay quiet. Evidence against ss
// and nstat in the same namespace.
import t from 'tap';
import { assertRises, assertSilent, Lab, rise } from '../helpers/lab';
import { unavailable } from '../helpers/requirements';

const skip = unavailable('namespaces');

t.test('accept_queue_overflow: backlog 2, 3 queued, 7 more SYNs dropped', { skip }, async (t) => {
  const lab = await Lab.create(t);
  const listener = await lab.holder.send({ op: 'listen', backlog: 2 });
  const port = listener.port as number;
  assertSilent(t, lab.scrape(), 'accept_queue_overflow', 'before the event');
  const n1 = lab.nstat();
  // The accept queue holds backlog + 1 = 3; each further SYN is dropped at
  // the listener. The 7 clients are closed in SYN_SENT at once, so no SYN
  // retransmit lands later.
  await lab.holder.send({ op: 'connect', host: '127.0.0.1', port, count: 3 });
  const pending = await lab.holder.send({
    op: 'connect',
    host: '127.0.0.1',
    port,
    count: 7,
    wait: false,
  });
  await lab.holder.send({ op: 'close', ids: pending.ids });
  const n2 = lab.nstat();
  const s2 = lab.scrape();
  t.equal(s2.detected('accept_queue_overflow'), 1, 'fires after the event');
  assertRises(
    t,
    s2,
    'accept_queue_overflow',
    ['TcpExt.ListenOverflows', 'TcpExt.ListenDrops'],
    n1,
    n2,
  );
  t.ok(rise(n1, n2, 'TcpExt.ListenOverflows') >= 7, 'seven SYNs found the queue full');
  t.equal(
    s2.evidence('accept_queue_overflow', 'listener drops increase'),
    rise(n1, n2, 'TcpExt.ListenDrops'),
    "the listener's own drop counter agrees with ListenDrops",
  );
  const [ss] = lab.ss(['-ltn', `sport = :${port}`]);
  t.equal(ss?.recvQ, 3, 'ss Recv-Q: 3 waiting for accept()');
  t.equal(ss?.sendQ, 2, 'ss Send-Q: backlog 2');
  t.equal(
    await lab.ownerOf(port),
    'python3',
    "the listener's process, found within the scan budget",
  );
  const finding = lab.finding('accept_queue_overflow');
  t.match(finding.cause, `127.0.0.1:${port} (python3) has a full accept queue`);
  t.match(finding.details, [
    `127.0.0.1:${port} (python3): accept queue 3 of 2 (full); the limit is min(listen() backlog, net.core.somaxconn): the application's listen() backlog sets it (net.core.somaxconn is 4096)`,
  ]);
  t.ok(
    finding.details.some((d) => d.startsWith('two drop counters: ')),
    'the two drop counters explained',
  );
  const doctor = lab.doctor(['--doctor.interval=0.3']);
  t.equal(doctor.status, 1, 'doctor exits 1');
  t.match(doctor.stdout, /^sockdiag doctor: 1 incident detected/);
  t.match(doctor.stdout, /\n1\. accept_queue_overflow \[critical\]: /);
});

t.test(
  'syn_queue_overflow without cookies: the limit, the drops, one source',
  { skip },
  async (t) => {
    const lab = await Lab.create(t, { sysctls: { 'net.ipv4.tcp_syncookies': 0 } });
    lab.ns.run('ip', ['route', 'add', '10.66.0.0/16', 'dev', 'lo']);
    const listener = await lab.holder.send({ op: 'listen', backlog: 4 });
    const port = listener.port as number;
    assertSilent(t, lab.scrape(), 'syn_queue_overflow', 'before the event');
    const n1 = lab.nstat();
    await lab.holder.send({ op: 'synFlood', source: '10.66.0.1', port, count: 12 });
    const n2 = lab.nstat();
    const s2 = lab.scrape();
    t.equal(s2.detected('syn_queue_overflow'), 1, 'fires after the event');
    assertRises(t, s2, 'syn_queue_overflow', ['TcpExt.TCPReqQFullDrop'], n1, n2);
    t.equal(rise(n1, n2, 'TcpExt.TCPReqQFullDrop'), 7, 'a queue of 4 (+1) took 5, dropped 7');
    const halfOpen = lab.ssCount('syn-recv', [`sport = :${port}`]);
    t.equal(halfOpen, 5, 'ss: 5 SYN_RECV');
    t.equal(s2.evidence('syn_queue_overflow', 'most half-open sockets at one listener'), halfOpen);
    t.equal(s2.detected('accept_queue_overflow'), 0, 'SYN-queue drops are not blamed on accept()');
    const sources = new Set(
      lab
        .ss(['-tan'])
        .filter((row) => row.state === 'syn_recv')
        .map((row) => row.peer),
    );
    t.same([...sources], ['10.66.0.1'], 'ss: one source');
    t.equal(await lab.ownerOf(port), 'python3', "the listener's process, within the scan budget");
    const finding = lab.finding('syn_queue_overflow');
    t.match(finding.details, [
      `127.0.0.1:${port} (python3): 5 half-open (SYN_RECV), SYN-queue limit 4, set by the listen backlog 4 = min(listen() backlog, net.core.somaxconn)`,
      `127.0.0.1:${port} (python3): the half-open requests come from 1 source: a SYN flood or clients whose handshakes never complete`,
      /^7 SYNs dropped \(TCPReqQFullDrop\): net\.ipv4\.tcp_syncookies is 0, so a full queue drops$/,
    ]);
    t.notMatch(
      finding.details.join('\n'),
      /10\.66\.0\.1/,
      'no address without the peers collector',
    );
    t.match(
      finding.remedy,
      /raise the application's listen\(\) backlog.*tcp_syncookies is 0: with 1/,
    );
  },
);

t.test(
  'syn cookies: a full SYN queue answered, nothing dropped; then tcp_syncookies=2',
  { skip },
  async (t) => {
    const lab = await Lab.create(t, { args: ['--collector.peers'] });
    lab.ns.run('ip', ['route', 'add', '10.66.0.0/16', 'dev', 'lo']);
    const listener = await lab.holder.send({ op: 'listen', backlog: 4 });
    assertSilent(t, lab.scrape(), 'syn_cookies', 'before the event');
    const n1 = lab.nstat();
    await lab.holder.send({ op: 'synFlood', source: '10.66.0.1', port: listener.port, count: 12 });
    const n2 = lab.nstat();
    const s2 = lab.scrape();
    t.equal(s2.detected('syn_cookies'), 1);
    assertRises(
      t,
      s2,
      'syn_cookies',
      ['TcpExt.SyncookiesSent', 'TcpExt.TCPReqQFullDoCookies'],
      n1,
      n2,
    );
    t.equal(rise(n1, n2, 'TcpExt.SyncookiesSent'), 7, 'nstat: 5 queued, 7 cookies');
    t.equal(rise(n1, n2, 'TcpExt.TCPReqQFullDrop'), 0, 'nstat: nothing dropped');
    const queue = lab.finding('syn_queue_overflow');
    t.equal(queue.fired, true, 'the full queue is shown');
    t.ok(
      queue.details.includes(
        '7 SYNs answered with SYN cookies (TCPReqQFullDoCookies): none dropped for that',
      ),
    );
    t.notOk(
      queue.details.some((d) => /dropped \(TCPReqQFullDrop\)/.test(d)),
      'never "dropped" when cookies took it',
    );
    t.ok(
      queue.details.some((d) => d.includes('(most from 10.66.0.1)')),
      'the source named with the peers collector',
    );
    const cookies = lab.finding('syn_cookies');
    t.equal(
      cookies.cause,
      'TcpExt.SyncookiesSent rose by 7: a SYN queue was full (TCPReqQFullDoCookies +7)',
    );

    lab.ns.sysctl('net.ipv4.tcp_syncookies', 2);
    const open = await lab.holder.send({ op: 'listen', backlog: 16 });
    await lab.holder.send({ op: 'connect', host: '127.0.0.1', port: open.port, count: 5 });
    await lab.holder.send({ op: 'accept', id: open.id, count: 5 });
    const always = lab.finding('syn_cookies');
    t.match(always.cause, /net\.ipv4\.tcp_syncookies=2 sends a cookie for every SYN/);
    t.match(always.remedy, /set it to 1/);
    t.equal(lab.ssCount('established', [`sport = :${open.port}`]), 5, 'the handshakes completed');
  },
);

t.test('control: a busy keep-alive service stays quiet', { skip }, async (t) => {
  const lab = await Lab.create(t);
  const server = await lab.holder.send({ op: 'serve', port: 8080, keepalive: true });
  const before = lab.scrape();
  await lab.holder.send({
    op: 'requests',
    host: '127.0.0.1',
    port: server.port,
    connections: 20,
    count: 200,
  });
  const s = lab.scrape();
  for (const incident of [
    'accept_queue_overflow',
    'syn_queue_overflow',
    'syn_cookies',
    'connection_churn',
    'time_wait_reuse',
    'resets',
  ]) {
    assertSilent(t, s, incident, 'with 4,000 requests over 20 connections');
  }
  t.equal(before.detected('connection_churn'), 0);
  t.equal(lab.ssCount('established', ['sport = :8080']), 20, 'ss: the 20 connections stay');
  t.equal(lab.finding('connection_churn').notice, false, 'not even a notice');
});
