// A namespace's counters when the process it was found by is gone: a
// container's process restarts while its sandbox keeps the namespace
// pinned, or its pid is reused by a process of another namespace. The
// reader must keep reading this namespace's counters (through the
// namespace's own thread), never fail and never read someone else's.
import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { openNamespace } from '../../src/diag';
import { namespaceReader } from '../../src/netns/reader';
import { testNamespace } from '../helpers/namespaces';
import { unavailable } from '../helpers/requirements';

const skip = unavailable('namespaces');

t.test(
  'counters of a namespace whose process exited or whose pid is reused',
  { skip },
  async (t) => {
    const { ns, holder } = testNamespace(t, { prefix: 'sdrdr' });
    // Some TCP opens here that the host does not share: ActiveOpens tells the namespaces apart.
    const listener = await holder.send({ op: 'listen', port: 8080, backlog: 16 });
    await holder.send({ op: 'connect', host: '127.0.0.1', port: listener.port, count: 7 });
    const inode = statSync(ns.path).ino;
    const sleeper = spawn('nsenter', [`--net=${ns.path}`, 'sleep', '600'], { stdio: 'ignore' });
    t.teardown(() => void sleeper.kill('SIGKILL'));
    await sleep(200);
    const handle = await openNamespace(ns.path);
    t.teardown(() => handle.close());

    const activeOpens = async (entry: { pid?: number; inode: number }) => {
      const files = await namespaceReader(handle, entry, '/proc').snmpFiles();
      return files.snmp?.find((c) => c.prefix === 'Tcp' && c.field === 'ActiveOpens')?.value;
    };
    const nstat = () => {
      const out = ns.run('nstat', ['-az', '--json', 'TcpActiveOpens']);
      return (JSON.parse(out) as { kernel: Record<string, number> }).kernel.TcpActiveOpens;
    };

    const expected = nstat();
    t.ok(
      expected !== undefined && expected >= 7,
      `nstat in the namespace: ${expected} active opens`,
    );
    t.equal(await activeOpens({ pid: sleeper.pid!, inode }), expected, 'through the process in it');
    t.equal(
      await activeOpens({ inode }),
      expected,
      'through the namespace thread, with no process',
    );

    sleeper.kill('SIGKILL');
    await new Promise((resolve) => sleeper.once('exit', resolve));
    t.equal(
      await activeOpens({ pid: sleeper.pid!, inode }),
      expected,
      'the process exited: still this namespace, not an error',
    );
    // A pid now held by a process of another namespace (ours, the host's).
    t.equal(
      await activeOpens({ pid: process.pid, inode }),
      expected,
      "a pid reused elsewhere: this namespace's counters, not that process's",
    );
  },
);
