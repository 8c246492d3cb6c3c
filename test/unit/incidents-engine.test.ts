// The incident engine and service on hand-built inputs: the definitions,
// "no opinion" when an input is missing (never "healthy" without a look),
// the counter ring that gives every consumer the same rate window, what is
// remembered as recently fired, and the doctor's report.
import t from 'tap';
import { INCIDENT_NAMES, INCIDENTS } from '../../src/incidents/definitions';
import { renderJson, renderText } from '../../src/incidents/report';
import { CounterRing } from '../../src/incidents/ring';
import { IncidentService } from '../../src/incidents/service';
import { DEFAULT_THRESHOLDS } from '../../src/incidents/thresholds';
import type { IncidentInput } from '../../src/incidents/types';
import { evidence, fired, input, listener, run, type Sample, T0 } from '../helpers/incidents';

const RATE_CHECKS = ['syn_cookies', 'paws_rejects', 'connection_churn', 'resets'];

t.test('one definition per incident, in the order to act', async (t) => {
  t.same(INCIDENT_NAMES, [
    'accept_queue_overflow',
    'syn_queue_overflow',
    'time_wait_bucket_overflow',
    'ephemeral_port_exhaustion',
    'time_wait_reuse',
    'syn_cookies',
    'paws_rejects',
    'receive_buffer_collapse',
    'keepalive_ghosts',
    'connection_churn',
    'resets',
  ]);
  const findings = [...run([{}]).values()];
  t.same(
    findings.map((f) => [f.incident, f.priority]),
    INCIDENT_NAMES.map((name, i) => [name, i]),
  );
  for (const d of INCIDENTS) {
    t.ok(['critical', 'warning', 'info'].includes(d.severity), `${d.incident}: severity`);
    for (const text of [d.title, d.means, d.notMeans, d.remedy]) {
      t.ok(text.length > 20 && !text.includes('\n'), `${d.incident}: one line of text`);
    }
  }
});

t.test('the counters a definition names are the ones that fire its check', async (t) => {
  // What the alert rules are built from (grafana/mixin): a rise of any of
  // them fires the check alone; rate incidents need their rate over the window.
  const seconds = 10;
  for (const d of INCIDENTS) {
    if (d.incident === 'connection_churn') continue; // needs harm as well: its own test
    const perWindow = d.thresholds.includes('resetsRate')
      ? DEFAULT_THRESHOLDS.resetsRate * seconds
      : 1;
    for (const counter of d.counters) {
      const findings = run([
        { at: 0, counters: { [counter]: 0 } },
        { at: seconds, counters: { [counter]: perWindow } },
      ]);
      t.same(fired(findings), [d.incident], `${counter} +${perWindow} fires ${d.incident}`);
    }
    t.ok(d.alert.startsWith('Sockdiag') && /^\d+[mh]$/.test(d.alertFor), `${d.incident}: alert`);
  }
});

t.test('first sample: rate checks have no opinion, even on large totals since boot', async (t) => {
  const totals = Object.fromEntries(input().netstat!.entries());
  for (const key of Object.keys(totals)) totals[key] = 1_000_000;
  const findings = run([{ counters: totals }]);
  t.same(fired(findings), [], 'nothing fires on totals accumulated since boot');
  for (const name of [...RATE_CHECKS, 'accept_queue_overflow', 'syn_queue_overflow']) {
    const f = findings.get(name)!;
    t.equal(f.evaluated, false, `${name} not evaluated`);
    t.match(f.reason, /rates need counter samples/, `${name} says why`);
  }
  for (const name of [
    'time_wait_bucket_overflow',
    'ephemeral_port_exhaustion',
    'keepalive_ghosts',
  ]) {
    t.equal(findings.get(name)!.evaluated, true, `${name} judges the table, not rates`);
  }
});

t.test('unreadable counters: no opinion with the reason, never healthy', async (t) => {
  const samples: Sample[] = [
    { at: 0, netstat: null },
    { at: 15, netstat: null },
  ];
  const findings = run(samples);
  for (const name of RATE_CHECKS) {
    const f = findings.get(name)!;
    t.equal(f.evaluated, false, `${name}: evaluated 0`);
    t.match(f.reason, /cannot read the kernel counters .*EACCES/, `${name}: says why`);
    t.same(
      f.evidence.filter((e) => /increase/.test(e.name)),
      [],
      `${name}: no invented rises`,
    );
  }
  const report = renderJson([...findings.values()]);
  t.equal(report.healthy, false);
  t.equal(report.status, 'incomplete');
  t.match(
    renderText([...findings.values()]),
    /^sockdiag doctor: no incident detected, but \d+ checks could not look/,
  );
  t.match(
    renderText([...findings.values()]),
    /\nno opinion: resets \(cannot read the kernel counters/,
  );
  const full = run([
    { at: 0, netstat: null },
    { at: 15, netstat: null, listeners: [listener({ acceptQueue: 129 })] },
  ]);
  t.equal(full.get('accept_queue_overflow')!.fired, true, 'a full accept queue needs no counters');
});

t.test('a counter that went backwards (reset) counts from zero', async (t) => {
  const findings = run([
    { at: 0, counters: { 'TcpExt.ListenOverflows': 500 } },
    { at: 10, counters: { 'TcpExt.ListenOverflows': 7 } },
  ]);
  t.equal(evidence(findings.get('accept_queue_overflow'), 'TcpExt.ListenOverflows increase'), 7);
});

t.test('a counter the kernel lacks is skipped, not taken as zero or as a rise', async (t) => {
  const engine = run([{ at: 0 }, { at: 10, counters: { 'TcpExt.PAWSTimewait': 3 } }]);
  t.equal(engine.get('paws_rejects')!.fired, true);
  t.equal(
    evidence(run([{ at: 0 }, { at: 10 }]).get('paws_rejects'), 'TcpExt.PAWSPassive increase'),
    undefined,
  );
});

t.test('the ring: a window of samples, at least the minimum span old', async (t) => {
  const ring = new CounterRing(60_000, 4_500);
  const sample = (at: number, value: number | null) => ({
    at: T0 + at * 1000,
    netstat: value === null ? null : new Map([['Tcp.OutRsts', value]]),
    listenerDrops: null,
  });
  t.match(ring.baseline(T0).missing, /the first was taken not yet/);
  ring.push(sample(0, 1));
  t.match(ring.baseline(T0 + 2000).missing, /at least 4.5 s apart: the first was taken 2 s ago/);
  t.equal(ring.baseline(T0 + 5000).sample?.at, T0, '5 s later the first sample starts the window');
  for (let at = 5; at <= 100; at += 5) ring.push(sample(at, at === 50 ? null : at));
  const base = ring.baseline(T0 + 100_020).sample!;
  t.equal(base.at, T0 + 45_000, 'the oldest sample inside the 60 s window');
  t.ok(ring.size <= 14, `the ring keeps only the window (${ring.size} samples)`);
  t.equal(ring.baseline(T0 + 104_000).sample?.at, T0 + 45_000, 'unreadable samples are skipped');
});

t.test('the ring stays bounded however often it is pushed', async (t) => {
  const ring = new CounterRing(60_000, 4_500);
  // A scrape every 10 ms for 10 minutes: 60,000 pushes.
  for (let at = 0; at <= 600_000; at += 10) {
    ring.push({ at: T0 + at, netstat: new Map([['Tcp.OutRsts', at]]), listenerDrops: null });
  }
  t.ok(ring.size <= 60_000 / 2_250 + 3, `${ring.size} samples kept`);
  t.equal(ring.newest()?.at, T0 + 600_000, 'the newest push is kept');
  const base = ring.baseline(T0 + 600_000).sample!;
  t.ok(
    base.at >= T0 + 540_000 && base.at <= T0 + 600_000 - 4_500,
    'a baseline inside the window, the minimum span old',
  );
});

function service(samples: IncidentInput[]) {
  const queue = [...samples];
  return new IncidentService({
    thresholds: { ...DEFAULT_THRESHOLDS, sampleInterval: 5, window: 60 },
    sample: async () => queue.shift()!,
    clock: () => T0 + 200_000,
  });
}

t.test('every consumer gets the same window; none takes the rise from another', async (t) => {
  const incidents = service([input({ at: 0 }), input({ at: 5 })]);
  await incidents.sampleNow();
  const overflow = { 'TcpExt.ListenOverflows': 12, 'Tcp.PassiveOpens': 4 };
  const scrape = incidents.evaluate(input({ at: 5, counters: overflow }));
  const doctor = incidents.evaluate(input({ at: 5.02, counters: overflow }));
  for (const [who, findings] of [
    ['the scrape', scrape],
    ['/doctor 20 ms later', doctor],
  ] as const) {
    const f = findings.find((x) => x.incident === 'accept_queue_overflow')!;
    t.equal(f.fired, true, `${who} sees the overflow`);
    t.equal(evidence(f, 'TcpExt.ListenOverflows increase'), 12, `${who}: the whole rise`);
    const churn = findings.find((x) => x.incident === 'connection_churn')!;
    t.ok(
      evidence(churn, 'connections opened per second')! < 1,
      `${who}: 4 opens over 5 s, not over 20 ms`,
    );
  }
  await incidents.sampleNow(); // the sampler's own look at t=5 takes nothing away either
  const later = incidents.evaluate(input({ at: 6, counters: overflow }));
  t.equal(
    evidence(
      later.find((x) => x.incident === 'accept_queue_overflow'),
      'TcpExt.ListenOverflows increase',
    ),
    12,
  );
});

t.test('a burst between scrapes is remembered as recently fired, with its peak', async (t) => {
  const burst = { 'TcpExt.ListenOverflows': 40 };
  const incidents = service([
    input({ at: 0 }),
    input({ at: 5, counters: { 'TcpExt.ListenOverflows': 15 } }),
    input({ at: 10, counters: burst }),
    input({ at: 75, counters: burst }),
    input({ at: 140, counters: burst }),
  ]);
  for (let i = 0; i < 5; i++) await incidents.sampleNow();
  const now = incidents.evaluate(input({ at: 145, counters: burst }));
  t.equal(now.find((f) => f.incident === 'accept_queue_overflow')!.fired, false, 'quiet now');
  const [recent] = incidents.recent();
  t.equal(recent?.incident, 'accept_queue_overflow');
  t.equal(recent?.firstAt, T0 + 5000);
  t.equal(recent?.lastAt, T0 + 10_000, 'the last sample whose window held the rise');
  t.equal(
    evidence({ evidence: recent!.peak } as never, 'TcpExt.ListenOverflows increase'),
    40,
    'peak',
  );
  const text = renderText(now, incidents.recent());
  t.match(
    text,
    /\nrecently fired, quiet now:\n- accept_queue_overflow \[critical\], last at \d\d:\d\d:\d\d UTC \(\d+ times since/,
  );
  t.match(text, /at its peak: .*TcpExt\.ListenOverflows increase = 40 events/);
  const json = renderJson(now, incidents.recent());
  t.equal(json.recent[0]?.incident, 'accept_queue_overflow');
});

t.test('report: fired first, cause, evidence, remedy; notices; JSON shape', async (t) => {
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
  const text = renderText(findings);
  const lines = text.split('\n');
  t.equal(lines[0], 'sockdiag doctor: 3 incidents detected, most urgent first');
  t.same(
    lines.filter((line) => /^\d+\. /.test(line)).map((line) => line.replace(/ \[.*/, '')),
    ['1. accept_queue_overflow', '2. time_wait_bucket_overflow', '3. resets'],
  );
  t.match(text, /\n {3}cause: 127\.0\.0\.1:8080 has a full accept queue\n/);
  t.match(text, / {3}- 127\.0\.0\.1:8080: accept queue 5 of 4 \(full\)/);
  t.match(text, /evidence: .*TcpExt\.TCPTimeWaitOverflow increase = 9 events/);
  t.match(text, / {3}remedy: Make the application accept\(\) faster/);
  t.match(text, /\nhealthy: syn_queue_overflow, ephemeral_port_exhaustion, /);
  const json = renderJson(findings);
  t.equal(json.status, 'incident');
  t.same(
    json.findings.slice(0, 3).map((f) => f.incident),
    ['accept_queue_overflow', 'time_wait_bucket_overflow', 'resets'],
  );
  for (const f of JSON.parse(JSON.stringify(json)).findings) {
    for (const key of [
      'incident',
      'title',
      'severity',
      'evaluated',
      'fired',
      'notice',
      'evidence',
      'details',
      'remedy',
      'priority',
    ]) {
      t.ok(key in f, `${f.incident}: ${key}`);
    }
  }
});
