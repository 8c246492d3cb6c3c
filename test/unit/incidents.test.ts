// The incident engine on hand-built inputs: no kernel, no namespace. Each
// check against its threshold, the first-sample rule for rates, and the
// doctor's report (text order, JSON shape).
import t from 'tap';
import { IncidentEngine, INCIDENT_NAMES } from '../../src/incidents/engine';
import { renderJson, renderText } from '../../src/incidents/report';
import { DEFAULT_THRESHOLDS } from '../../src/incidents/thresholds';
import {
  type Finding,
  type IncidentInput,
  type TableFacts,
  type Thresholds,
} from '../../src/incidents/types';
import type { Listener } from '../../src/scan/listeners';

const COUNTERS = [
  'TcpExt.ListenOverflows',
  'TcpExt.ListenDrops',
  'TcpExt.TCPReqQFullDrop',
  'TcpExt.TCPReqQFullDoCookies',
  'TcpExt.TCPTimeWaitOverflow',
  'TcpExt.SyncookiesSent',
  'TcpExt.SyncookiesRecv',
  'TcpExt.SyncookiesFailed',
  'TcpExt.PAWSActive',
  'TcpExt.PAWSEstab',
  'TcpExt.PAWSTimewait',
  'TcpExt.TCPACKSkippedPAWS',
  'TcpExt.TCPRcvCollapsed',
  'TcpExt.PruneCalled',
  'TcpExt.RcvPruned',
  'TcpExt.TCPRcvQDrop',
  'Tcp.ActiveOpens',
  'Tcp.PassiveOpens',
  'Tcp.OutRsts',
  'Tcp.EstabResets',
  'Tcp.AttemptFails',
  'Tcp.CurrEstab',
];

const SYSCTLS: Record<string, number> = {
  'net.core.somaxconn': 4096,
  'net.ipv4.tcp_max_syn_backlog': 2048,
  'net.ipv4.tcp_syncookies': 1,
  'net.ipv4.tcp_max_tw_buckets': 1000,
  'net.ipv4.tcp_timestamps': 1,
  'net.ipv4.tcp_tw_reuse': 2,
  'net.ipv4.tcp_keepalive_time': 7200,
};

const RATE_CHECKS = [
  'syn_cookies',
  'paws_rejects',
  'receive_buffer_collapse',
  'connection_churn',
  'resets',
];

function quietTable(over: Partial<TableFacts> = {}): TableFacts {
  return {
    established: 10,
    timeWait: 0,
    idleWithoutKeepalive: 0,
    ghostExamples: [],
    tcpInfoAvailable: true,
    socketsWithDrops: 0,
    drops: 0,
    busiestTuplePorts: 1,
    ephemeralRangeSize: 28232,
    timeWaitByServicePort: [],
    ...over,
  };
}

function listener(over: Partial<Listener> = {}): Listener {
  return {
    family: 'inet',
    address: '127.0.0.1',
    port: 8080,
    sockets: 1,
    acceptQueue: 0,
    acceptQueueLimit: 128,
    drops: 0,
    halfOpen: 0,
    ...over,
  };
}

interface Sample {
  /** Seconds since the start. */
  at?: number;
  counters?: Record<string, number>;
  sysctl?: Record<string, number>;
  listeners?: Listener[] | null;
  table?: TableFacts | null;
  netstat?: null;
}

const T0 = 1_700_000_000_000;

function input(sample: Sample = {}): IncidentInput {
  const netstat = new Map(COUNTERS.map((key) => [key, 0]));
  for (const [key, value] of Object.entries(sample.counters ?? {})) netstat.set(key, value);
  return {
    now: T0 + (sample.at ?? 0) * 1000,
    netstat: sample.netstat === null ? null : netstat,
    sysctl: new Map(Object.entries({ ...SYSCTLS, ...sample.sysctl })),
    listeners: sample.listeners === undefined ? [listener()] : sample.listeners,
    table: sample.table === undefined ? quietTable() : sample.table,
  };
}

/** Runs the samples through one engine; returns the last findings by name. */
function run(samples: Sample[], thresholds: Partial<Thresholds> = {}): Map<string, Finding> {
  const engine = new IncidentEngine({ ...DEFAULT_THRESHOLDS, ...thresholds });
  let findings: Finding[] = [];
  for (const sample of samples) findings = engine.evaluate(input(sample));
  return new Map(findings.map((finding) => [finding.incident, finding]));
}

function evidence(finding: Finding | undefined, name: string): number | undefined {
  return finding?.evidence.find((item) => item.name === name)?.value;
}

function fired(findings: Map<string, Finding>): string[] {
  return [...findings.values()].filter((f) => f.fired).map((f) => f.incident);
}

t.test('every check, in the order to act', async (t) => {
  t.same(INCIDENT_NAMES, [
    'accept_queue_overflow',
    'syn_queue_overflow',
    'time_wait_bucket_overflow',
    'ephemeral_port_exhaustion',
    'syn_cookies',
    'paws_rejects',
    'receive_buffer_collapse',
    'keepalive_ghosts',
    'connection_churn',
    'resets',
  ]);
  const findings = [...run([{}]).values()];
  t.same(
    findings.map((f) => f.priority),
    findings.map((_, i) => i),
  );
  for (const f of findings) {
    t.ok(f.title.length > 0 && f.remedy.length > 0, `${f.incident} has a title and a remedy`);
    t.notOk(f.remedy.includes('\n'), `${f.incident}: remedy is one line`);
  }
});

t.test('first sample: rate checks have no opinion, even on large totals since boot', async (t) => {
  const totals = Object.fromEntries(COUNTERS.map((key) => [key, 1_000_000]));
  const findings = run([{ counters: totals }]);
  t.same(fired(findings), [], 'nothing fires on totals accumulated since boot');
  for (const name of [...RATE_CHECKS, 'accept_queue_overflow', 'syn_queue_overflow']) {
    const f = findings.get(name)!;
    t.equal(f.evaluated, false, `${name} not evaluated`);
    t.match(f.reason, /two samples|first scrape/, `${name} says why`);
  }
  for (const name of [
    'time_wait_bucket_overflow',
    'ephemeral_port_exhaustion',
    'keepalive_ghosts',
  ]) {
    t.equal(findings.get(name)!.evaluated, true, `${name} judges state, not rates`);
  }
});

t.test('second sample without change: everything evaluated, nothing fired', async (t) => {
  const findings = run([{ at: 0 }, { at: 15 }]);
  t.same(fired(findings), []);
  for (const f of findings.values()) t.equal(f.evaluated, true, f.incident);
  t.equal(evidence(findings.get('accept_queue_overflow'), 'TcpExt.ListenOverflows increase'), 0);
});

t.test('each counter rise fires its check, and only its check', async (t) => {
  const cases: [string, string][] = [
    ['TcpExt.ListenOverflows', 'accept_queue_overflow'],
    ['TcpExt.TCPReqQFullDrop', 'syn_queue_overflow'],
    ['TcpExt.TCPTimeWaitOverflow', 'time_wait_bucket_overflow'],
    ['TcpExt.SyncookiesSent', 'syn_cookies'],
    ['TcpExt.SyncookiesFailed', 'syn_cookies'],
    ['TcpExt.PAWSActive', 'paws_rejects'],
    ['TcpExt.PAWSEstab', 'paws_rejects'],
    ['TcpExt.PAWSTimewait', 'paws_rejects'],
    ['TcpExt.TCPACKSkippedPAWS', 'paws_rejects'],
    ['TcpExt.TCPRcvCollapsed', 'receive_buffer_collapse'],
    ['TcpExt.PruneCalled', 'receive_buffer_collapse'],
    ['TcpExt.RcvPruned', 'receive_buffer_collapse'],
    ['TcpExt.TCPRcvQDrop', 'receive_buffer_collapse'],
  ];
  for (const [key, incident] of cases) {
    const findings = run([
      { at: 0, counters: { [key]: 40 } },
      { at: 10, counters: { [key]: 43 } },
    ]);
    t.same(fired(findings), [incident], `${key} +3 fires ${incident} alone`);
    t.equal(evidence(findings.get(incident), `${key} increase`), 3, `${key} rise is evidence`);
  }
});

t.test('a counter that went backwards (reset) counts from zero', async (t) => {
  const findings = run([
    { at: 0, counters: { 'TcpExt.ListenOverflows': 500 } },
    { at: 10, counters: { 'TcpExt.ListenOverflows': 2 } },
  ]);
  t.equal(evidence(findings.get('accept_queue_overflow'), 'TcpExt.ListenOverflows increase'), 2);
  t.equal(findings.get('accept_queue_overflow')!.fired, true);
});

t.test('a counter the kernel lacks is skipped, not taken as zero or as a rise', async (t) => {
  const engine = new IncidentEngine();
  const first = input({ at: 0 });
  first.netstat!.delete('TcpExt.PAWSTimewait');
  engine.evaluate(first);
  const second = input({ at: 10, counters: { 'TcpExt.PAWSTimewait': 7 } });
  const paws = engine.evaluate(second).find((f) => f.incident === 'paws_rejects')!;
  t.equal(paws.fired, false, 'appearing counter is not a rise');
  t.equal(evidence(paws, 'TcpExt.PAWSTimewait increase'), undefined);
  t.equal(evidence(paws, 'TcpExt.PAWSEstab increase'), 0);
});

t.test('accept_queue_overflow', async (t) => {
  t.test('a full listener fires on the first sample already', async (t) => {
    const findings = run([
      { listeners: [listener({ acceptQueue: 129, acceptQueueLimit: 128, port: 8080 })] },
    ]);
    const f = findings.get('accept_queue_overflow')!;
    t.equal(f.fired, true);
    t.equal(f.evaluated, true);
    t.equal(evidence(f, 'listeners with a full accept queue'), 1);
    t.same(f.details, ['127.0.0.1:8080: accept queue 129 of 128 (full)']);
  });
  t.test('below the limit is quiet; IPv6 endpoints are bracketed', async (t) => {
    const findings = run([
      { at: 0 },
      {
        at: 5,
        listeners: [
          listener({ acceptQueue: 127, acceptQueueLimit: 128 }),
          listener({ family: 'inet6', address: '::1', acceptQueue: 3, acceptQueueLimit: 3 }),
        ],
      },
    ]);
    const f = findings.get('accept_queue_overflow')!;
    t.equal(evidence(f, 'listeners with a full accept queue'), 1);
    t.same(f.details, ['[::1]:8080: accept queue 3 of 3 (full)']);
  });
  t.test('ListenDrops and listener drops alone are evidence, not a trigger', async (t) => {
    // ListenDrops also counts SYN-queue drops: a SYN flood without cookies
    // must not send the operator to the application's accept() loop.
    const findings = run([
      { at: 0, listeners: [listener({ drops: 10 })] },
      {
        at: 10,
        counters: { 'TcpExt.ListenDrops': 7, 'TcpExt.TCPReqQFullDrop': 7 },
        listeners: [listener({ drops: 17 })],
      },
    ]);
    const f = findings.get('accept_queue_overflow')!;
    t.equal(f.fired, false);
    t.equal(evidence(f, 'TcpExt.ListenDrops increase'), 7);
    t.equal(evidence(f, 'listener drops increase'), 7);
    t.same(f.details, ['127.0.0.1:8080: 7 drops since the last sample']);
    t.same(fired(findings), ['syn_queue_overflow']);
  });
  t.test('ListenOverflows with the listener that dropped', async (t) => {
    const findings = run([
      { at: 0, listeners: [listener({ drops: 0 })] },
      {
        at: 10,
        counters: { 'TcpExt.ListenOverflows': 7, 'TcpExt.ListenDrops': 7 },
        listeners: [listener({ drops: 7 })],
      },
    ]);
    const f = findings.get('accept_queue_overflow')!;
    t.equal(f.fired, true);
    t.equal(evidence(f, 'TcpExt.ListenOverflows increase'), 7);
    t.match(f.details, ['127.0.0.1:8080: 7 drops since the last sample']);
  });
  t.test('no listener dump and no previous sample: no opinion', async (t) => {
    const f = run([{ listeners: null }]).get('accept_queue_overflow')!;
    t.equal(f.evaluated, false);
    t.match(f.reason, /listener dump/);
  });
});

t.test('syn_queue_overflow: half-open against the SYN queue the kernel enforces', async (t) => {
  t.test('the listen backlog is the SYN queue limit (cookies on)', async (t) => {
    const at = (halfOpen: number) =>
      run([{ listeners: [listener({ acceptQueueLimit: 100, halfOpen })] }]).get(
        'syn_queue_overflow',
      )!;
    t.equal(at(89).fired, false, '89 of 100 < 0.9');
    const f = at(90);
    t.equal(f.fired, true, '90 of 100 >= 0.9');
    t.equal(evidence(f, 'most half-open sockets at one listener'), 90);
    t.equal(evidence(f, 'SYN queue limit of that listener'), 100);
    t.match(f.details[0], /127\.0\.0\.1:8080: 90 half-open .*limit 100 \(listen backlog 100\)/);
  });
  t.test('without cookies, 3/4 of tcp_max_syn_backlog when smaller', async (t) => {
    const f = run([
      {
        sysctl: { 'net.ipv4.tcp_syncookies': 0, 'net.ipv4.tcp_max_syn_backlog': 64 },
        listeners: [listener({ acceptQueueLimit: 4096, halfOpen: 45 })],
      },
    ]).get('syn_queue_overflow')!;
    t.equal(evidence(f, 'SYN queue limit of that listener'), 48);
    t.equal(f.fired, true, '45 >= 0.9 * 48');
  });
  t.test('the ratio is a threshold', async (t) => {
    const f = run([{ listeners: [listener({ acceptQueueLimit: 100, halfOpen: 60 })] }], {
      synBacklogRatio: 0.5,
    }).get('syn_queue_overflow')!;
    t.equal(f.fired, true);
  });
  t.test('TCPReqQFullDoCookies is shown but does not fire', async (t) => {
    const findings = run([{ at: 0 }, { at: 1, counters: { 'TcpExt.TCPReqQFullDoCookies': 5 } }]);
    t.equal(findings.get('syn_queue_overflow')!.fired, false);
    t.equal(
      evidence(findings.get('syn_queue_overflow'), 'TcpExt.TCPReqQFullDoCookies increase'),
      5,
    );
  });
});

t.test('time_wait_bucket_overflow: TIME_WAIT count against tcp_max_tw_buckets', async (t) => {
  const at = (timeWait: number, thresholds: Partial<Thresholds> = {}) =>
    run([{ table: quietTable({ timeWait }) }], thresholds).get('time_wait_bucket_overflow')!;
  t.equal(at(799).fired, false, '799 of 1000 < 0.8');
  t.equal(at(800).fired, true, '800 of 1000 >= 0.8');
  t.equal(at(800).evaluated, true, 'decided on the first sample');
  t.same(at(800).details, ['800 TIME_WAIT sockets, limit 1000']);
  t.equal(at(800, { twBucketsRatio: 0.9 }).fired, false, 'ratio flag respected');
  t.equal(evidence(at(5), 'net.ipv4.tcp_max_tw_buckets'), 1000);
  t.equal(evidence(at(5), 'time_wait sockets'), 5);
});

t.test('ephemeral_port_exhaustion: busiest tuple against ip_local_port_range', async (t) => {
  const at = (ports: number, thresholds: Partial<Thresholds> = {}) =>
    run(
      [{ table: quietTable({ busiestTuplePorts: ports, ephemeralRangeSize: 100 }) }],
      thresholds,
    ).get('ephemeral_port_exhaustion')!;
  t.equal(at(79).fired, false);
  t.equal(at(80).fired, true);
  t.equal(evidence(at(80), 'ratio'), 0.8);
  t.equal(at(80, { ephemeralRatio: 0.95 }).fired, false);
  t.equal(at(100, { ephemeralRatio: 0.95 }).fired, true);
  const blind = run([{ table: null }]).get('ephemeral_port_exhaustion')!;
  t.equal(blind.evaluated, false, 'no table, no opinion');
});

t.test('keepalive_ghosts', async (t) => {
  const f = run([
    { table: quietTable({ idleWithoutKeepalive: 6, ghostExamples: ['a -> b idle 9 s'] }) },
  ]).get('keepalive_ghosts')!;
  t.equal(f.fired, true);
  t.equal(evidence(f, 'established, no keepalive, idle > 3600 s'), 6);
  t.same(f.details, ['a -> b idle 9 s']);
  const labelled = run([{}], { keepaliveIdle: 1 }).get('keepalive_ghosts')!;
  t.equal(evidence(labelled, 'established, no keepalive, idle > 1 s'), 0, 'threshold in the name');
  const noInfo = run([{ table: quietTable({ tcpInfoAvailable: false }) }]).get('keepalive_ghosts')!;
  t.equal(noInfo.evaluated, false, 'established sockets but no tcp_info: no opinion');
  const empty = run([{ table: quietTable({ tcpInfoAvailable: false, established: 0 }) }]).get(
    'keepalive_ghosts',
  )!;
  t.equal(empty.evaluated, true, 'nothing established: nothing to suspect');
  t.equal(empty.fired, false);
});

t.test('connection_churn: opens per second, with both thresholds', async (t) => {
  const churn = (opens: number, seconds: number, established: number, over = {}) =>
    run(
      [
        { at: 0, counters: { 'Tcp.ActiveOpens': 1000, 'Tcp.PassiveOpens': 1000 } },
        {
          at: seconds,
          counters: { 'Tcp.ActiveOpens': 1000 + opens / 2, 'Tcp.PassiveOpens': 1000 + opens / 2 },
          table: quietTable({ established, timeWaitByServicePort: [[8080, 77]] }),
        },
      ],
      over,
    ).get('connection_churn')!;
  const f = churn(2000, 10, 50);
  t.equal(evidence(f, 'connections opened per second'), 200);
  t.equal(evidence(f, 'Tcp.ActiveOpens increase'), 1000);
  t.equal(evidence(f, 'Tcp.PassiveOpens increase'), 1000);
  t.equal(evidence(f, 'opens per second per established connection'), 4);
  t.equal(f.fired, true);
  t.same(f.details, ['service port 8080: 77 TIME_WAIT sockets']);
  t.equal(churn(990, 10, 1).fired, false, '99/s is under the 100/s floor');
  t.equal(churn(990, 10, 1, { churnMinOpens: 50 }).fired, true, 'floor flag respected');
  t.equal(churn(2000, 10, 2001).fired, false, '200/s over 2001 established is reuse');
  t.equal(churn(2000, 10, 2001, { churnRatio: 0.05 }).fired, true, 'ratio flag respected');
});

t.test('resets: per second against the threshold', async (t) => {
  const resets = (rise: number, seconds: number, over = {}) =>
    run(
      [
        { at: 0, counters: { 'Tcp.OutRsts': 5 } },
        { at: seconds, counters: { 'Tcp.OutRsts': 5 + rise, 'Tcp.AttemptFails': rise } },
      ],
      over,
    ).get('resets')!;
  const f = resets(150, 15);
  t.equal(f.fired, true, '10/s reaches the default threshold');
  t.equal(evidence(f, 'Tcp.OutRsts per second'), 10);
  t.equal(evidence(f, 'Tcp.OutRsts increase'), 150);
  t.equal(evidence(f, 'Tcp.AttemptFails increase'), 150);
  t.equal(evidence(f, 'Tcp.EstabResets per second'), 0);
  t.same(f.details, ['Tcp.OutRsts: 10.0/s', 'Tcp.AttemptFails: 10.0/s']);
  t.equal(resets(149, 15).fired, false, '9.9/s does not');
  t.equal(resets(149, 15, { resetsRate: 5 }).fired, true, 'threshold flag respected');
});

t.test('unreadable counters: no opinion, and the next rate spans the gap', async (t) => {
  const engine = new IncidentEngine();
  engine.evaluate(input({ at: 0, counters: { 'Tcp.OutRsts': 0 } }));
  const blind = engine.evaluate(input({ at: 10, netstat: null }));
  for (const name of RATE_CHECKS) {
    const f = blind.find((x) => x.incident === name)!;
    t.equal(f.evaluated, false, `${name}: no counters, no opinion`);
    t.match(f.reason, /netstat/);
  }
  // 200 RSTs over the 20 s since the last readable sample: 10/s, not 20/s.
  const after = engine.evaluate(input({ at: 20, counters: { 'Tcp.OutRsts': 200 } }));
  const resets = after.find((f) => f.incident === 'resets')!;
  t.equal(evidence(resets, 'Tcp.OutRsts per second'), 10);
});

t.test('a listener dump that failed keeps the previous drop counters', async (t) => {
  const engine = new IncidentEngine();
  engine.evaluate(input({ at: 0, listeners: [listener({ drops: 1 })] }));
  engine.evaluate(input({ at: 10, listeners: null }));
  const after = engine.evaluate(input({ at: 20, listeners: [listener({ drops: 4 })] }));
  const f = after.find((x) => x.incident === 'accept_queue_overflow')!;
  t.equal(evidence(f, 'listener drops increase'), 3);
});

t.test('paws_rejects names the timestamp settings and the missing tcp_tw_recycle', async (t) => {
  const findings = run([{ at: 0 }, { at: 1, counters: { 'TcpExt.PAWSTimewait': 2 } }]);
  const f = findings.get('paws_rejects')!;
  t.equal(f.fired, true);
  t.equal(evidence(f, 'net.ipv4.tcp_timestamps'), 1);
  t.equal(evidence(f, 'net.ipv4.tcp_tw_reuse'), 2);
  t.equal(evidence(f, 'net.ipv4.tcp_tw_recycle'), undefined);
  t.match(f.details, [/tcp_tw_recycle does not exist .*4\.12/]);
  const old = run([{ sysctl: { 'net.ipv4.tcp_tw_recycle': 0 } }]).get('paws_rejects')!;
  t.equal(evidence(old, 'net.ipv4.tcp_tw_recycle'), 0, 'shown where it exists');
  t.same(old.details, []);
});

t.test('report', async (t) => {
  // resets (priority 9), time_wait (2), accept (0) fire; given out of order.
  const findings = [
    ...run([
      { at: 0 },
      {
        at: 1,
        counters: { 'Tcp.OutRsts': 100, 'TcpExt.TCPTimeWaitOverflow': 9 },
        listeners: [listener({ acceptQueue: 5, acceptQueueLimit: 4 })],
      },
    ]).values(),
  ].reverse();

  t.test('text: fired first, most urgent first, with evidence and remedy', async (t) => {
    const text = renderText(findings);
    const lines = text.split('\n');
    t.equal(lines[0], 'sockdiag doctor: 3 incidents detected, most urgent first');
    const order = lines.filter((line) => /^\d+\. /.test(line));
    t.same(
      order.map((line) => line.replace(/:.*/, '')),
      ['1. accept_queue_overflow', '2. time_wait_bucket_overflow', '3. resets'],
    );
    t.match(text, / {3}- 127\.0\.0\.1:8080: accept queue 5 of 4 \(full\)\n/);
    t.match(text, /evidence: .*TcpExt\.TCPTimeWaitOverflow increase = 9 events/);
    t.match(text, / {3}remedy: Make the application accept\(\) faster/);
    t.match(text, /\nhealthy: syn_queue_overflow, ephemeral_port_exhaustion, /);
    t.notMatch(text, /no opinion yet/);
    t.ok(text.endsWith('\n'));
  });

  t.test('JSON: healthy flag, fired findings first by priority, full shape', async (t) => {
    const json = renderJson(findings);
    t.equal(json.healthy, false);
    t.same(
      json.findings.map((f) => [f.incident, f.fired]),
      [
        ['accept_queue_overflow', true],
        ['time_wait_bucket_overflow', true],
        ['resets', true],
        ['syn_queue_overflow', false],
        ['ephemeral_port_exhaustion', false],
        ['syn_cookies', false],
        ['paws_rejects', false],
        ['receive_buffer_collapse', false],
        ['keepalive_ghosts', false],
        ['connection_churn', false],
      ],
    );
    const round = JSON.parse(JSON.stringify(json));
    for (const f of round.findings) {
      t.same(
        Object.keys(f).sort(),
        ['details', 'evaluated', 'evidence', 'fired', 'incident', 'priority', 'remedy', 'title'],
        `${f.incident}: keys`,
      );
      for (const e of f.evidence) t.same(Object.keys(e).sort(), ['name', 'unit', 'value']);
    }
  });

  t.test('healthy, and the first sample', async (t) => {
    const first = [...run([{}]).values()];
    const text = renderText(first);
    t.match(text, /^sockdiag doctor: no incident detected\n/);
    t.notMatch(text, /^\d+\. /m);
    t.match(text, /no opinion yet: syn_cookies \(needs two samples/);
    t.match(
      text,
      /healthy: time_wait_bucket_overflow, ephemeral_port_exhaustion, keepalive_ghosts/,
    );
    const json = renderJson(first);
    t.equal(json.healthy, true);
    const pending = json.findings.find((f) => f.incident === 'resets')!;
    t.equal(pending.evaluated, false);
    t.type(pending.reason, 'string');
    t.equal(renderText([]), 'sockdiag doctor: no incident detected\n');
    t.same(renderJson([]), { healthy: true, findings: [] });
  });
});
