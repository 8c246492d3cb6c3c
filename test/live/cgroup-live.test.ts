// The cgroupId column against the kernel and ss: listeners opened by
// processes placed in cgroups this test creates under the cgroup2 mount.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import t from 'tap';
import { unavailable } from '../helpers/requirements';
import { Dump } from '../../src/diag';
import {
  cgroup2Mount,
  cgroupId,
  holderInCgroup,
  ownCgroupPath,
  TestCgroups,
} from '../helpers/cgroup';
import type { SocketHolder } from '../helpers/holder';
import { Netns } from '../helpers/namespaces';

const mount = cgroup2Mount();
const skip = unavailable('namespaces', 'cgroup2');

async function rowsByPort(
  netns: string,
): Promise<Map<number, { state: string; cgroupId: bigint }[]>> {
  const rows = new Map<number, { state: string; cgroupId: bigint }[]>();
  for (const family of ['inet', 'inet6'] as const) {
    for await (const batch of new Dump({ netns, family })) {
      for (let i = 0; i < batch.count; i++) {
        const port = batch.columns.localPort[i]!;
        const list = rows.get(port) ?? [];
        list.push({ state: batch.stateName(i), cgroupId: batch.columns.cgroupId[i]! });
        rows.set(port, list);
      }
    }
  }
  return rows;
}

/** ss -tlnH --cgroup: local port -> the cgroup text ss printed. */
function ssCgroups(command: string[]): Map<number, string> {
  const out = execFileSync(command[0]!, [...command.slice(1), 'ss', '-tlnH', '--cgroup'], {
    encoding: 'utf8',
  });
  const byPort = new Map<number, string>();
  for (const line of out.split('\n')) {
    const local = line.trim().split(/\s+/)[3];
    const cgroup = /cgroup:(\S+)/.exec(line)?.[1];
    if (local && cgroup) byPort.set(Number(local.slice(local.lastIndexOf(':') + 1)), cgroup);
  }
  return byPort;
}

t.test('listeners carry the cgroup v2 id of the process that opened them', { skip }, async (t) => {
  const ns = Netns.create();
  const cgroups = new TestCgroups(mount!);
  const holders: SocketHolder[] = [];
  t.teardown(async () => {
    for (const holder of holders) await holder.exit();
    cgroups.remove();
    ns.destroy();
  });
  const service = cgroups.create('system.slice/app.service');
  const pod = cgroups.create('kubepods.slice/kubepods-pod1234.slice/cri-containerd-abc.scope');
  const inService = holderInCgroup(ns.path, service);
  const inPod = holderInCgroup(ns.path, pod);
  const plain = ns.holder(); // stays in this test's own cgroup
  holders.push(inService, inPod, plain);

  const web = await inService.send({ op: 'listen', port: 0 });
  const web6 = await inService.send({ op: 'listen', family: 'inet6', host: '::1', port: 0 });
  const api = await inPod.send({ op: 'listen', port: 0 });
  const other = await plain.send({ op: 'listen', port: 0 });
  // A connection from the pod to the service: the accepted child belongs
  // to the listener's cgroup, the client to the pod's.
  const client = await inPod.send({ op: 'connect', host: '127.0.0.1', port: web.port });
  await inService.send({ op: 'accept', id: web.id });
  await plain.send({ op: 'timewait', count: 1 });

  const rows = await rowsByPort(ns.path);
  const id = (port: number, state = 'listen') =>
    rows.get(port)?.find((r) => r.state === state)?.cgroupId;
  t.equal(id(web.port), cgroupId(service), 'IPv4 listener: the service cgroup');
  t.equal(id(web6.port), cgroupId(service), 'IPv6 listener: the service cgroup');
  t.equal(id(api.port), cgroupId(pod), 'listener in the pod cgroup');
  t.equal(
    id(other.port),
    cgroupId(path.join(mount!, ownCgroupPath())),
    'a process left alone: the cgroup of the test itself',
  );
  t.not(cgroupId(service), cgroupId(pod), 'the two cgroups differ (the check can fail)');
  t.equal(id(web.port, 'established'), cgroupId(service), 'accepted child: the listener cgroup');
  t.equal(id(client.ports[0], 'established'), cgroupId(pod), 'client: the pod cgroup');
  const timeWait = [...rows.values()].flat().filter((r) => r.state === 'time_wait');
  t.equal(timeWait.length, 1, 'one TIME_WAIT socket');
  t.equal(timeWait[0]?.cgroupId, 0n, 'TIME_WAIT rows carry no cgroup id');

  // ss in the same namespace through nsenter sees the cgroup2 mount and
  // prints the path of the very directory whose inode we matched.
  const ss = ssCgroups(['nsenter', `--net=${ns.path}`]);
  t.equal(ss.get(web.port), cgroups.ssPath(service), 'ss --cgroup names the service path');
  t.equal(ss.get(web6.port), cgroups.ssPath(service));
  t.equal(ss.get(api.port), cgroups.ssPath(pod), 'ss --cgroup names the pod path');
  // ip netns exec remounts /sys: ss finds no cgroup2 mount there and
  // prints the raw id in hex, which is still ours.
  const hidden = ssCgroups(['ip', 'netns', 'exec', ns.name]);
  t.equal(
    hidden.get(api.port),
    `unreachable:${cgroupId(pod).toString(16)}`,
    'ip netns exec hides the mount',
  );
});
