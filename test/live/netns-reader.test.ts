// A namespace's counters when the process it was found by is gone: a
// container's process restarts while its sandbox keeps the namespace
// pinned. The reader must keep reading this namespace's counters (through
// the namespace's own thread), equal to nstat's there, and never fail; and
// they must be this namespace's, not those of the namespace we run in.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { addon, openNamespace } from '../../src/diag';
import { namespaceReader } from '../../src/netns/reader';
import { testNamespace } from '../helpers/namespaces';
import { unavailable } from '../helpers/requirements';

const skip = unavailable('namespaces');

/** Tcp ActiveOpens from a /proc/net/snmp text. */
function activeOpensIn(text: string): number | undefined {
  const lines = text.split('\n').filter((line) => line.startsWith('Tcp:'));
  const names = lines[0]?.split(/\s+/) ?? [];
  const values = lines[1]?.split(/\s+/) ?? [];
  const index = names.indexOf('ActiveOpens');
  return index > 0 ? Number(values[index]) : undefined;
}

t.test('counters of a namespace whose process exited', { skip }, async (t) => {
  const { ns, holder } = testNamespace(t, { prefix: 'sdrdr' });
  // Some TCP opens here that the host does not share: ActiveOpens tells the namespaces apart.
  const listener = await holder.send({ op: 'listen', port: 8080, backlog: 16 });
  await holder.send({ op: 'connect', host: '127.0.0.1', port: listener.port, count: 7 });
  const sleeper = spawn('nsenter', [`--net=${ns.path}`, 'sleep', '600'], { stdio: 'ignore' });
  t.teardown(() => void sleeper.kill('SIGKILL'));
  await sleep(200);
  const handle = await openNamespace(ns.path);
  t.teardown(() => handle.close());

  const reader = namespaceReader(handle);
  const activeOpens = async () => {
    const files = await reader.snmpFiles();
    return files.snmp?.find((c) => c.prefix === 'Tcp' && c.field === 'ActiveOpens')?.value;
  };
  const nstat = () => {
    const out = ns.run('nstat', ['-az', '--json', 'TcpActiveOpens']);
    return (JSON.parse(out) as { kernel: Record<string, number> }).kernel.TcpActiveOpens;
  };

  const expected = nstat();
  t.ok(expected !== undefined && expected >= 7, `nstat in the namespace: ${expected} active opens`);
  t.not(
    activeOpensIn(readFileSync('/proc/self/net/snmp', 'utf8')),
    expected,
    "our own namespace's count differs, so the comparison tells them apart",
  );
  t.equal(await activeOpens(), expected, 'with a process in it');
  sleeper.kill('SIGKILL');
  await new Promise((resolve) => sleeper.once('exit', resolve));
  t.equal(await activeOpens(), expected, 'the process exited: still this namespace, not an error');
});

t.test('the reads of one turn, from several namespaces, go in one trip', { skip }, async (t) => {
  const first = testNamespace(t, { prefix: 'sdrdb' });
  const second = testNamespace(t, { prefix: 'sdrdb' });
  first.ns.sysctl('net.core.somaxconn', 611);
  second.ns.sysctl('net.core.somaxconn', 622);
  const handles = await Promise.all([openNamespace(first.ns.path), openNamespace(second.ns.path)]);
  t.teardown(() => handles.forEach((handle) => handle.close()));
  const original = addon.readNamespacesFiles;
  const trips: number[] = [];
  addon.readNamespacesFiles = (requests, maxBytes) => {
    trips.push(requests.length);
    return original.call(addon, requests, maxBytes);
  };
  t.teardown(() => {
    addon.readNamespacesFiles = original;
  });
  const readers = handles.map((handle) => namespaceReader(handle));
  const [a, b] = await Promise.all(readers.map((reader) => reader.sysctls()));
  t.equal(a?.get('net.core.somaxconn'), 611, "the first namespace's own setting");
  t.equal(b?.get('net.core.somaxconn'), 622, "the second namespace's own setting");
  t.same(trips, [2], 'both namespaces, every sysctl, in one call');
  await readers[0]!.sysctls();
  t.same(trips, [2, 1], 'a later turn is a trip of its own');
});
