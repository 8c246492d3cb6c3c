// What the operator reads: a quiet namespace reads healthy everywhere;
// /doctor right after a scrape sees what the scrape saw and invents no
// rate; a burst between looks is listed as recently fired; and with the
// counters unreadable no check claims health.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { INCIDENT_NAMES } from '../../src/incidents/definitions';
import { assertSilent, Lab } from '../helpers/lab';
import { unavailable } from '../helpers/requirements';

const skip = unavailable('namespaces');
const LOW = [
  '--collector.incidents.keepalive-idle=2',
  '--collector.incidents.churn-min-opens=20',
  '--collector.incidents.resets-rate=2',
];

t.test('a quiet namespace: every check looked and is silent', { skip }, async (t) => {
  const lab = await Lab.create(t, { args: LOW });
  lab.scrape(); // a first look at the table, for the checks that compare two
  await sleep(600);
  const s = lab.scrape();
  for (const incident of INCIDENT_NAMES) assertSilent(t, s, incident, 'in a quiet namespace');
  const text = lab.doctorText();
  t.match(text, /^sockdiag doctor: no incident detected\n/);
  t.notMatch(text, /no opinion|remedy:|recently fired/);
  const json = lab.doctorJson();
  t.equal(json.healthy, true);
  t.equal(json.status, 'healthy');
  t.equal(json.findings.length, INCIDENT_NAMES.length);
  const doctor = lab.doctor(['--doctor.interval=0.3', ...LOW]);
  t.equal(doctor.status, 0, 'doctor exits 0');
  t.match(doctor.stdout, /healthy: accept_queue_overflow, .*resets\n/);
});

t.test('/doctor right after a scrape sees the same and invents no rate', { skip }, async (t) => {
  const lab = await Lab.create(t);
  const listener = await lab.holder.send({ op: 'listen', backlog: 1 });
  const pending = await lab.holder.send({
    op: 'connect',
    host: '127.0.0.1',
    port: listener.port,
    count: 6,
    wait: false,
  });
  await lab.holder.send({ op: 'close', ids: pending.ids });
  const scrape = lab.scrape();
  const doctor = lab.finding('accept_queue_overflow');
  t.equal(scrape.detected('accept_queue_overflow'), 1, 'the scrape sees it');
  t.equal(doctor.fired, true, '/doctor a moment later sees it too');
  const rise = doctor.evidence.find((e) => e.name === 'TcpExt.ListenOverflows increase')?.value;
  t.equal(
    rise,
    scrape.evidence('accept_queue_overflow', 'TcpExt.ListenOverflows increase'),
    'the same rise',
  );
  const again = lab.scrape();
  t.equal(again.detected('accept_queue_overflow'), 1, '/doctor took nothing from the next scrape');
  const churn = lab.finding('connection_churn');
  const opens = churn.evidence.find((e) => e.name === 'connections opened per second')!.value;
  t.ok(opens < 20, `${opens.toFixed(1)} opens/s: a few connects over the window, not over 20 ms`);
});

t.test('a burst between looks is listed as recently fired', { skip }, async (t) => {
  const lab = await Lab.create(t, { args: ['--collector.incidents.window=1'] });
  const listener = await lab.holder.send({ op: 'listen', backlog: 1 });
  const queued = await lab.holder.send({
    op: 'connect',
    host: '127.0.0.1',
    port: listener.port,
    count: 2,
  });
  const dropped = await lab.holder.send({
    op: 'connect',
    host: '127.0.0.1',
    port: listener.port,
    count: 5,
    wait: false,
  });
  await lab.holder.send({ op: 'close', ids: dropped.ids });
  await lab.holder.send({ op: 'accept', id: listener.id, count: 2 }); // the queue is empty again
  await sleep(2500); // the service's samples saw the burst; the 1 s window has moved past it
  assertSilent(t, lab.scrape(), 'accept_queue_overflow', 'now');
  const text = lab.doctorText();
  t.match(
    text,
    /\nrecently fired, quiet now:\n- accept_queue_overflow \[critical\], last at \d\d:\d\d:\d\d UTC/,
  );
  t.match(text, / {2}cause: TcpExt\.ListenOverflows rose by \d+/);
  t.match(text, / {2}at its peak: .*TcpExt\.ListenOverflows increase = [1-9]\d* events/);
  t.equal(lab.doctorJson().recent[0]?.incident, 'accept_queue_overflow');
  t.ok(queued.ids.length === 2);
});

t.test('counters unreadable: no check claims health', { skip }, async (t) => {
  const empty = mkdtempSync(path.join(tmpdir(), 'sdprocfs-'));
  t.teardown(() => rmSync(empty, { recursive: true, force: true }));
  const lab = await Lab.create(t, { args: [`--path.procfs=${empty}`] });
  lab.scrape();
  await sleep(600);
  const s = lab.scrape();
  for (const incident of ['syn_cookies', 'paws_rejects', 'resets', 'connection_churn']) {
    t.equal(s.evaluated(incident), 0, `${incident}: evaluated 0`);
    t.equal(s.detected(incident), 0);
  }
  t.equal(s.metrics.get('sockdiag_scrape_collector_success{collector="netstat"}'), 0);
  const json = lab.doctorJson();
  t.equal(json.healthy, false, 'not healthy');
  t.equal(json.status, 'incomplete');
  const resets = json.findings.find((f) => f.incident === 'resets')!;
  t.match(resets.reason, /cannot read the kernel counters/);
  t.notOk(
    resets.evidence.some((e) => e.name.endsWith('increase')),
    'no counter rise invented',
  );
  t.match(
    lab.doctorText(),
    /^sockdiag doctor: no incident detected, but \d+ checks could not look/,
  );
  t.match(lab.doctorText(), /\nno opinion: resets \(cannot read the kernel counters/);
});
