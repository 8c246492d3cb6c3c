// Each check on hand-built situations: what fires it, what it says (cause,
// the limit that binds, the remedy for that cause) and its look-alikes that
// must stay quiet.
import t from 'tap';
import { evidence, fired, listener, quietTable, run, timeWaitPort } from '../helpers/incidents';

t.test('each counter rise fires its check, and only its check', async (t) => {
  const cases: [string, string][] = [
    ['TcpExt.ListenOverflows', 'accept_queue_overflow'],
    ['TcpExt.TCPReqQFullDrop', 'syn_queue_overflow'],
    ['TcpExt.TCPTimeWaitOverflow', 'time_wait_bucket_overflow'],
    ['TcpExt.SyncookiesSent', 'syn_cookies'],
    ['TcpExt.PAWSTimewait', 'paws_rejects'],
    ['TcpExt.PAWSActive', 'paws_rejects'],
    ['TcpExt.TCPRcvCollapsed', 'receive_buffer_collapse'],
    ['TcpExt.RcvPruned', 'receive_buffer_collapse'],
    ['TcpExt.OfoPruned', 'receive_buffer_collapse'],
    ['TcpExt.TCPRcvQDrop', 'receive_buffer_collapse'],
  ];
  for (const [counter, incident] of cases) {
    const findings = run([{ at: 0 }, { at: 10, counters: { [counter]: 3 } }]);
    t.same(fired(findings), [incident], `${counter} +3 fires ${incident} alone`);
    t.match(findings.get(incident)!.cause, counter, `the cause names ${counter}`);
  }
  for (const counter of [
    'TcpExt.PruneCalled',
    'TcpExt.SyncookiesFailed',
    'TcpExt.TCPACKSkippedPAWS',
    'TcpExt.ListenDrops',
  ]) {
    t.same(
      fired(run([{ at: 0 }, { at: 10, counters: { [counter]: 3 } }])),
      [],
      `${counter} alone is evidence, not a trigger`,
    );
  }
});

t.test('accept_queue_overflow names the listener and the limit that binds', async (t) => {
  const own = run([{ listeners: [listener({ acceptQueue: 129, acceptQueueLimit: 128 })] }]);
  const f = own.get('accept_queue_overflow')!;
  t.equal(f.fired, true, 'a full listener fires on the first sample already');
  t.match(
    f.details[0],
    /127\.0\.0\.1:8080: accept queue 129 of 128 \(full\).*listen\(\) backlog sets it \(net\.core\.somaxconn is 4096\)/,
  );
  const capped = run([
    { listeners: [listener({ acceptQueue: 4096, acceptQueueLimit: 4096 })] },
  ]).get('accept_queue_overflow')!;
  t.match(capped.details[0], /net\.core\.somaxconn \(4096\) caps it/);
  const v6 = run([
    {
      listeners: [
        listener({ family: 'inet6', address: '::', acceptQueue: 3, acceptQueueLimit: 3 }),
      ],
    },
  ]);
  t.match(v6.get('accept_queue_overflow')!.details[0], /^\[::\]:8080: /);
  t.equal(
    run([{ listeners: [listener({ acceptQueue: 127 })] }]).get('accept_queue_overflow')!.fired,
    false,
    'below the limit',
  );
});

t.test('accept_queue_overflow: two drop counters, one explanation', async (t) => {
  const findings = run([
    { at: 0, listeners: [listener({ drops: 10 })] },
    {
      at: 10,
      counters: { 'TcpExt.ListenOverflows': 4, 'TcpExt.ListenDrops': 6 },
      listeners: [listener({ drops: 16 })],
    },
  ]);
  const f = findings.get('accept_queue_overflow')!;
  t.equal(f.fired, true);
  t.equal(evidence(f, 'listener drops increase'), 6);
  t.match(f.details, [
    /127\.0\.0\.1:8080: 6 drops in the window/,
    /two drop counters: a listener's own drop counter counts every packet .*ListenOverflows counts only full accept queues/,
  ]);
  const dropsOnly = run([
    { at: 0, listeners: [listener({ drops: 0 })] },
    { at: 10, counters: { 'TcpExt.ListenDrops': 5 }, listeners: [listener({ drops: 5 })] },
  ]);
  t.equal(
    dropsOnly.get('accept_queue_overflow')!.fired,
    false,
    'drops without overflows point elsewhere',
  );
});

t.test('syn_queue_overflow: the real limit, cookies or drops, the sources', async (t) => {
  const withCookies = run([
    { at: 0 },
    {
      at: 10,
      counters: { 'TcpExt.TCPReqQFullDoCookies': 30 },
      listeners: [listener({ acceptQueueLimit: 16, halfOpen: 17 })],
      table: quietTable({
        halfOpen: [
          { endpoint: '2|127.0.0.1|8080', requests: 17, sources: 1, topSource: { requests: 17 } },
        ],
      }),
    },
  ]).get('syn_queue_overflow')!;
  t.equal(withCookies.fired, true);
  t.match(withCookies.details, [
    /127\.0\.0\.1:8080: 17 half-open \(SYN_RECV\), SYN-queue limit 16, set by the listen backlog 16 = min\(listen\(\) backlog, net\.core\.somaxconn\)/,
    /the half-open requests come from 1 source: a SYN flood or clients whose handshakes never complete/,
    /30 SYNs answered with SYN cookies \(TCPReqQFullDoCookies\): none dropped/,
  ]);
  t.notMatch(withCookies.details.join('\n'), /dropped \(TCPReqQFullDrop\)/, 'no drops claimed');
  t.match(withCookies.remedy, /raise the application's listen\(\) backlog/);
  t.notMatch(withCookies.remedy, /syncookies/);

  const noCookies = run([
    { at: 0, sysctl: { 'net.ipv4.tcp_syncookies': 0, 'net.ipv4.tcp_max_syn_backlog': 8 } },
    {
      at: 10,
      sysctl: { 'net.ipv4.tcp_syncookies': 0, 'net.ipv4.tcp_max_syn_backlog': 8 },
      counters: { 'TcpExt.TCPReqQFullDrop': 9 },
      listeners: [listener({ acceptQueueLimit: 128, halfOpen: 6 })],
    },
  ]).get('syn_queue_overflow')!;
  t.match(
    noCookies.details[0],
    /6 half-open .*SYN-queue limit 6, set by 3\/4 of net\.ipv4\.tcp_max_syn_backlog \(8\)/,
  );
  t.match(
    noCookies.details.join('\n'),
    /9 SYNs dropped \(TCPReqQFullDrop\): net\.ipv4\.tcp_syncookies is 0/,
  );
  t.match(
    noCookies.remedy,
    /raise net\.ipv4\.tcp_max_syn_backlog \(now 8\).*tcp_syncookies is 0: with 1/,
  );
  t.notMatch(noCookies.remedy, /keep net\.ipv4\.tcp_syncookies/);

  const zero = run([{ listeners: [listener({ acceptQueueLimit: 0, halfOpen: 1 })] }]).get(
    'syn_queue_overflow',
  )!;
  t.notMatch(zero.details.join('\n'), /limit 0/, 'never a limit of 0');
  t.equal(
    run([{ listeners: [listener({ halfOpen: 10 })] }]).get('syn_queue_overflow')!.fired,
    false,
    'far below',
  );
});

t.test('syn_cookies says why they were sent', async (t) => {
  const full = run([
    { at: 0 },
    { at: 5, counters: { 'TcpExt.SyncookiesSent': 5, 'TcpExt.TCPReqQFullDoCookies': 5 } },
  ]).get('syn_cookies')!;
  t.match(
    full.cause,
    /TcpExt\.SyncookiesSent rose by 5: a SYN queue was full \(TCPReqQFullDoCookies \+5\)/,
  );
  const always = run([
    { at: 0, sysctl: { 'net.ipv4.tcp_syncookies': 2 } },
    { at: 5, sysctl: { 'net.ipv4.tcp_syncookies': 2 }, counters: { 'TcpExt.SyncookiesSent': 1 } },
  ]).get('syn_cookies')!;
  t.match(always.cause, /TcpExt\.SyncookiesSent rose by 1: net\.ipv4\.tcp_syncookies=2/);
  t.match(always.remedy, /set it to 1/);
});

t.test('time_wait_bucket_overflow and ephemeral_port_exhaustion', async (t) => {
  const buckets = run([{ table: quietTable({ timeWait: 800 }) }]).get('time_wait_bucket_overflow')!;
  t.equal(buckets.fired, true, '800 of 1000 at the 0.8 ratio');
  t.equal(
    run([{ table: quietTable({ timeWait: 799 }) }]).get('time_wait_bucket_overflow')!.fired,
    false,
  );
  const ports = run([{ table: quietTable({ busiestTuplePorts: 25000 }) }]).get(
    'ephemeral_port_exhaustion',
  )!;
  t.equal(ports.fired, true);
  t.match(ports.cause, /25000 of 28232 ephemeral ports/);
});

/** One peer (its address hidden) with a pool of `span` source ports, `sockets` of them in TIME_WAIT. */
function pool(sockets: number, span: number, oldestSeconds: number, over = {}) {
  return timeWaitPort({
    serverSide: sockets,
    peers: 1,
    topPeer: {
      sockets,
      lowestPort: 40000,
      highestPort: 40000 + span - 1,
      soonestExpiryMs: (60 - oldestSeconds) * 1000,
    },
    withoutTimestamps: 3,
    ...over,
  });
}

t.test('time_wait_reuse: one peer cycling a small pool through TIME_WAIT', async (t) => {
  const snat = (at: number) => ({
    at,
    table: quietTable({ timeWait: 64, timeWaitPorts: [pool(64, 64, 3)] }),
  });
  const first = run([snat(0)]).get('time_wait_reuse')!;
  t.equal(first.evaluated, false, 'one look cannot tell a pool from a client ramping up');
  t.match(first.reason, /needs a second look at the table/);
  const f = run([snat(0), snat(10)]).get('time_wait_reuse')!;
  t.equal(f.fired, true);
  t.match(
    f.cause,
    /service port 8080: one peer cycles a pool of 64 source ports through TIME_WAIT/,
  );
  t.match(
    f.details[0],
    /100% of its 64 TIME_WAIT sockets belong to one peer, whose source ports fill 64 of 64 \(40000-40063\); the oldest is 3 s old against a TIME_WAIT of 60 s/,
  );
  t.match(f.details[1], /no TCP timestamps: a SYN that lands on a TIME_WAIT socket .* stale ACK/);
  t.match(
    f.remedy,
    /Reuse connections between the balancer and this server.*larger SNAT pool.*timestamps end to end.*tcp_tw_reuse on this server does not help/,
  );
  t.notMatch(f.details.join(' '), /\d+\.\d+\.\d+\.\d+/, 'no address without the peers collector');
  const revealed = run([
    snat(0),
    {
      at: 10,
      table: quietTable({
        timeWaitPorts: [
          pool(64, 64, 3, {
            topPeer: {
              sockets: 64,
              lowestPort: 40000,
              highestPort: 40063,
              soonestExpiryMs: 57000,
              address: '10.2.0.1',
            },
          }),
        ],
      }),
    },
  ]);
  t.match(
    revealed.get('time_wait_reuse')!.cause,
    /peer 10\.2\.0\.1/,
    'named with the peers collector',
  );
  const stamped = run([
    snat(0),
    {
      at: 10,
      table: quietTable({
        timeWaitPorts: [pool(64, 64, 3, { withTimestamps: 5, withoutTimestamps: 0 })],
      }),
    },
  ]);
  t.match(
    stamped.get('time_wait_reuse')!.details[1],
    /timestamps from different clients behind it: .*PAWS/,
  );
});

t.test('time_wait_reuse look-alikes stay quiet', async (t) => {
  const quiet = (name: string, ...looks: Parameters<typeof quietTable>[0][]) => {
    const findings = run(looks.map((table, i) => ({ at: i * 10, table: quietTable(table) })));
    t.equal(findings.get('time_wait_reuse')!.fired, false, name);
    return findings;
  };
  // One request per connection from one client's whole ephemeral range.
  quiet(
    'a client using its full port range',
    { timeWaitPorts: [pool(600, 28000, 30)] },
    { timeWaitPorts: [pool(600, 28000, 30)] },
  );
  // Many clients: no concentration.
  quiet(
    'many peers',
    { timeWaitPorts: [pool(64, 64, 3, { serverSide: 640, peers: 10 })] },
    { timeWaitPorts: [pool(64, 64, 3, { serverSide: 640, peers: 10 })] },
  );
  // A pool that is full but turns over slower than TIME_WAIT: no reuse.
  quiet(
    'a slow pool',
    { timeWaitPorts: [pool(64, 64, 58)] },
    { timeWaitPorts: [pool(64, 64, 58)] },
  );
  // A sequential client ramping up: its span keeps growing.
  quiet(
    'a client still opening new ports',
    { timeWaitPorts: [pool(100, 100, 10)] },
    { timeWaitPorts: [pool(200, 200, 20)] },
  );
  quiet(
    'too few sockets',
    { timeWaitPorts: [pool(10, 10, 1)] },
    { timeWaitPorts: [pool(10, 10, 1)] },
  );
});

t.test('paws_rejects says which counter rose, names the port, shows what matters', async (t) => {
  const f = run([
    { at: 0 },
    {
      at: 10,
      counters: { 'TcpExt.PAWSTimewait': 7 },
      table: quietTable({ timeWaitPorts: [pool(50, 60, 30)] }),
    },
  ]).get('paws_rejects')!;
  t.equal(f.fired, true);
  t.equal(f.cause, 'TcpExt.PAWSTimewait rose by 7');
  t.match(f.details, [
    /TcpExt\.PAWSTimewait \+7: SYNs reaching TIME_WAIT sockets .* clients behind one NAT/,
    /service port 8080: 50 of its 50 server-side TIME_WAIT sockets belong to one peer/,
  ]);
  t.same(
    f.evidence.filter((e) => e.unit === 'setting').map((e) => e.name),
    ['net.ipv4.tcp_timestamps'],
    'only the timestamps setting',
  );
  t.notMatch(f.details.join('\n'), /tcp_tw_recycle/, 'not written for tcp_tw_recycle');
  const active = run([{ at: 0 }, { at: 10, counters: { 'TcpExt.PAWSActive': 2 } }]).get(
    'paws_rejects',
  )!;
  t.same(
    active.evidence
      .filter((e) => e.unit === 'setting')
      .map((e) => e.name)
      .sort(),
    ['net.ipv4.tcp_timestamps', 'net.ipv4.tcp_tw_reuse'],
  );
});

t.test('receive_buffer_collapse: collapsed or dropped data, not PruneCalled alone', async (t) => {
  const pruneOnly = run([{ at: 0 }, { at: 10, counters: { 'TcpExt.PruneCalled': 500 } }]).get(
    'receive_buffer_collapse',
  )!;
  t.equal(pruneOnly.fired, false);
  t.match(pruneOnly.details, [
    /PruneCalled \+500 without collapsed, pruned or dropped data: autotuned receivers/,
  ]);
  const drops = (n: number) =>
    quietTable({
      socketsWithDrops: 2,
      drops: n,
      dropPorts: [{ port: 9000, side: 'service', sockets: 2, drops: n }],
    });
  const live = run([
    { at: 0, table: drops(4) },
    { at: 10, table: drops(9) },
  ]).get('receive_buffer_collapse')!;
  t.equal(live.fired, true, 'live sockets dropped more');
  t.match(live.details, [/service port 9000: 2 sockets with drops \(9 dropped\)/]);
  t.equal(
    run([
      { at: 0, table: drops(4) },
      { at: 10, table: drops(4) },
    ]).get('receive_buffer_collapse')!.fired,
    false,
    'old drops are history',
  );
});

t.test('keepalive_ghosts: by port and peers, idle spread, possible vs certain', async (t) => {
  const ghosts = quietTable({
    idleWithoutKeepalive: 30,
    ghostPorts: [
      {
        port: 5432,
        side: 'service',
        sockets: 20,
        distinctPeers: 3,
        withUnacked: 0,
        withBackoff: 0,
      },
      { port: 443, side: 'client', sockets: 10, distinctPeers: 1, withUnacked: 4, withBackoff: 2 },
    ],
    ghostIdle: [
      [7200, 12],
      [86400, 18],
    ],
  });
  const f = run([{ table: ghosts }]).get('keepalive_ghosts')!;
  t.equal(f.fired, true);
  t.equal(f.severity, 'info');
  t.match(f.details, [
    /^service port 5432: 20 sockets from 3 peers$/,
    /^connections to port 443: 10 sockets from 1 peer; 4 with unacknowledged data, 2 backing off: those peers are not answering$/,
    /^idle for 1 h to 2 h: 12, 6 h to 1 d: 18$/,
    /4 of them are certainly dead or unreachable .* the rest are possible ghosts: a live idle client looks the same/,
  ]);
  const possible = run([
    {
      table: quietTable({
        idleWithoutKeepalive: 1,
        ghostPorts: [
          {
            port: 80,
            side: 'service',
            sockets: 1,
            distinctPeers: 1,
            withUnacked: 0,
            withBackoff: 0,
          },
        ],
      }),
    },
  ]).get('keepalive_ghosts')!;
  t.match(possible.details.at(-1), /possible ghosts: a live client that is idle looks the same/);
  t.equal(
    run([{ table: quietTable({ tcpInfoAvailable: false }) }]).get('keepalive_ghosts')!.evaluated,
    false,
  );
});

t.test('resets: the kind the kernel counted most, and its remedy', async (t) => {
  const timeouts = run([
    { at: 0 },
    { at: 10, counters: { 'TcpExt.TCPAbortOnTimeout': 300, 'Tcp.OutRsts': 10 } },
  ]).get('resets')!;
  t.equal(timeouts.fired, true);
  t.match(
    timeouts.cause,
    /30\.0\/s TcpExt\.TCPAbortOnTimeout: connections aborted after their retransmissions or keepalive probes ran out/,
  );
  t.match(timeouts.remedy, /peers that stopped answering/);
  const close = run([
    { at: 0 },
    { at: 10, counters: { 'TcpExt.TCPAbortOnClose': 200, 'Tcp.OutRsts': 200 } },
  ]).get('resets')!;
  t.match(close.remedy, /read or discard it before close/);
  const refused = run([{ at: 0 }, { at: 10, counters: { 'Tcp.OutRsts': 500 } }]).get('resets')!;
  t.match(refused.cause, /50\.0 RSTs\/s sent .* connects to a port nothing listens on/);
  t.equal(
    run([{ at: 0 }, { at: 10, counters: { 'Tcp.OutRsts': 50 } }]).get('resets')!.fired,
    false,
    '5/s is below 10/s',
  );
});

t.test('connection_churn: informational unless harm comes with it', async (t) => {
  const busy = { 'Tcp.PassiveOpens': 2000, 'Tcp.ActiveOpens': 0 };
  const table = quietTable({
    established: 5,
    timeWait: 1,
    timeWaitPorts: [timeWaitPort({ serverSide: 1 }), timeWaitPort({ port: 19561, serverSide: 40 })],
  });
  const harmless = run([{ at: 0 }, { at: 10, counters: busy, table }]).get('connection_churn')!;
  t.equal(harmless.fired, false);
  t.equal(harmless.notice, true);
  t.match(
    harmless.cause,
    /200 connections opened per second against 5 established connections: informational, no harm seen/,
  );
  t.same(
    harmless.details,
    ['service port 8080: 1 TIME_WAIT socket'],
    "singular, and the exporter's own port left out",
  );
  const own = run([{ at: 0 }, { at: 10, counters: busy, ownConnections: 1990 }]).get(
    'connection_churn',
  )!;
  t.equal(
    evidence(own, 'connections opened per second'),
    1,
    "the exporter's own scrapes are not churn",
  );
  t.equal(own.notice, false);
  const harmful = run([
    { at: 0 },
    { at: 10, counters: { ...busy, 'Tcp.OutRsts': 500 }, table },
  ]).get('connection_churn')!;
  t.equal(harmful.fired, true);
  t.match(harmful.cause, /with resets/);
  const pressure = run([
    { at: 0 },
    { at: 10, counters: busy, table: quietTable({ established: 5, timeWait: 600 }) },
  ]).get('connection_churn')!;
  t.match(pressure.cause, /TIME_WAIT bucket pressure \(600 of 1000\)/);
});
