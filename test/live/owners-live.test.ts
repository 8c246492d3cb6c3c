// Owners for real: socket holders placed in cgroups this test makes under
// the cgroup2 mount, in the systemd-unit layout and both kubelet layouts;
// the exporter (entered with nsenter, so the mount stays visible) names
// them as `ss -tlnp --cgroup` and `ss -tan --cgroup` do. Then the same as
// nobody (no /proc/PID/fd of root's processes: no process labels, a reason
// given) and under `ip netns exec` (no cgroup mount: no cgroup labels).
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import t from 'tap';
import { cgroup2Mount, holderInCgroup, TestCgroups } from '../helpers/cgroup';
import { parseMetrics, startExporter } from '../helpers/exporter';
import type { SocketHolder } from '../helpers/holder';
import { Netns } from '../helpers/namespaces';
import { unavailable } from '../helpers/requirements';

const skip = unavailable('namespaces', 'cgroup2');
const UID = '9f8e7d6c-5b4a-4392-8817-263544536271';
const CONTAINER = 'c'.repeat(16) + '0123456789abcdef'.repeat(3);
const UID2 = '11111111-2222-4333-8444-555555555555';
const CONTAINER2 = 'd'.repeat(16) + 'fedcba9876543210'.repeat(3);

interface Placed {
  dir: string;
  holder: SocketHolder;
  port: number;
  /** What the exporter should say. */
  unit: string;
  podUid: string;
  containerId: string;
  label: string;
}

function ssByPort(ns: Netns, args: string[]): Map<number, { cgroup: string; process: string }> {
  const out = execFileSync('nsenter', [`--net=${ns.path}`, 'ss', ...args], { encoding: 'utf8' });
  const rows = new Map<number, { cgroup: string; process: string }>();
  for (const line of out.split('\n')) {
    const local = line.trim().split(/\s+/)[3];
    if (!local) continue;
    rows.set(Number(local.slice(local.lastIndexOf(':') + 1)), {
      cgroup: /cgroup:(\S+)/.exec(line)?.[1] ?? '',
      process: /users:\(\("([^"]+)"/.exec(line)?.[1] ?? '',
    });
  }
  return rows;
}

t.test(
  'listeners and sockets named by cgroup, unit, pod, container and process',
  { skip },
  async (t) => {
    const ns = Netns.create('sdown');
    const cgroups = new TestCgroups(cgroup2Mount()!);
    const holders: SocketHolder[] = [];
    t.teardown(async () => {
      for (const holder of holders) await holder.exit();
      cgroups.remove();
      ns.destroy();
    });
    const layouts = [
      { relative: 'system.slice/web.service', unit: 'web.service', podUid: '', containerId: '' },
      {
        relative: `kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID.replaceAll('-', '_')}.slice/cri-containerd-${CONTAINER}.scope`,
        unit: '',
        podUid: UID,
        containerId: CONTAINER,
      },
      {
        relative: `kubepods/besteffort/pod${UID2}/${CONTAINER2}`,
        unit: '',
        podUid: UID2,
        containerId: CONTAINER2,
      },
    ];
    const placed: Placed[] = [];
    for (const [i, layout] of layouts.entries()) {
      const dir = cgroups.create(layout.relative);
      const holder = holderInCgroup(ns.path, dir);
      holders.push(holder);
      const port = 8080 + i;
      const listener = await holder.send({ op: 'listen', port, backlog: 1 });
      await holder.send({ op: 'connect', host: '127.0.0.1', port, count: 2 + i });
      await holder.send({ op: 'accept', id: listener.id, count: 2 + i });
      const ssPath = cgroups.ssPath(dir);
      const label = layout.podUid
        ? `pod:${layout.podUid}/${layout.containerId.slice(0, 12)}`
        : ssPath;
      placed.push({ dir, holder, port, ...layout, label });
    }
    const exporter = await startExporter(ns, [], 19561, { keepMounts: true });
    t.teardown(() => exporter.stop());
    const metrics = parseMetrics(exporter.get('/metrics').body);
    const listeners = ssByPort(ns, ['-tlnpH', '--cgroup']);
    for (const p of placed) {
      const ss = listeners.get(p.port)!;
      t.equal(ss.cgroup, cgroups.ssPath(p.dir), `ss names :${p.port}'s cgroup`);
      const info = [...metrics.keys()].find(
        (key) =>
          key.startsWith('sockdiag_listener_owner_info{') && key.includes(`port="${p.port}"`),
      );
      t.ok(info, `an owner_info series for :${p.port}`);
      t.match(info, `process="${ss.process}"`, `:${p.port} process as ss -p says (${ss.process})`);
      t.match(info, `unit="${p.unit}"`, `:${p.port} unit`);
      t.match(info, `pod_uid="${p.podUid}"`, `:${p.port} pod`);
      t.match(info, `container_id="${p.containerId}"`, `:${p.port} container`);
    }
    const sockets = execFileSync('nsenter', [`--net=${ns.path}`, 'ss', '-tanH', '--cgroup'], {
      encoding: 'utf8',
    });
    for (const p of placed) {
      const path = cgroups.ssPath(p.dir);
      const established = sockets
        .split('\n')
        .filter((l) => l.startsWith('ESTAB') && l.split(/\s+/).includes(`cgroup:${path}`)).length;
      t.ok(established >= 4, `ss --cgroup: ${established} ESTABLISHED in ${path}`);
      t.equal(
        metrics.get(`sockdiag_cgroup_sockets{cgroup="${p.label}",state="established"}`),
        established,
        `${p.label}: ESTABLISHED as ss --cgroup counts them`,
      );
      t.equal(metrics.get(`sockdiag_cgroup_sockets{cgroup="${p.label}",state="listen"}`), 1);
    }

    // An overflowing listener in the unit's cgroup: /doctor names its owner.
    await placed[0]!.holder.send({
      op: 'connect',
      host: '127.0.0.1',
      port: 8080,
      count: 3,
      wait: false,
    });
    const report = JSON.parse(exporter.get('/doctor', { Accept: 'application/json' }).body);
    const accept = report.findings.find(
      (f: { incident: string }) => f.incident === 'accept_queue_overflow',
    );
    t.match(
      accept.details.join('\n'),
      /127\.0\.0\.1:8080 \(python3, web\.service\): accept queue \d+ of 1 \(full\)/,
    );
  },
);

t.test(
  'as nobody: no process labels, and why; under ip netns exec: no cgroup labels, and why',
  { skip },
  async (t) => {
    const ns = Netns.create('sdown');
    const cgroups = new TestCgroups(cgroup2Mount()!);
    const holder = holderInCgroup(ns.path, cgroups.create('system.slice/db.service'));
    t.teardown(async () => {
      await holder.exit();
      cgroups.remove();
      ns.destroy();
    });
    await holder.send({ op: 'listen', port: 5432 });
    const nobody = await startExporter(ns, [], 19561, { keepMounts: true, user: 65534 });
    t.teardown(() => nobody.stop());
    const metrics = parseMetrics(nobody.get('/metrics').body);
    const info = [...metrics.keys()].find(
      (key) => key.includes('owner_info') && key.includes('port="5432"'),
    )!;
    t.match(info, 'process=""', "no process: root's /proc/PID/fd is unreadable");
    t.match(info, 'unit="db.service"', 'the cgroup still names the unit');
    const doctor = nobody.get('/doctor').body;
    t.match(
      doctor,
      /\nnotes:\n(- .*\n)*- \d+ processes' \/proc\/PID\/fd could not be read .*CAP_SYS_PTRACE/,
    );
    await nobody.stop();

    const hidden = await startExporter(ns, [], 19562);
    t.teardown(() => hidden.stop());
    const plain = parseMetrics(hidden.get('/metrics').body);
    const hiddenInfo = [...plain.keys()].find(
      (key) => key.includes('owner_info') && key.includes('port="5432"'),
    )!;
    t.match(hiddenInfo, 'cgroup=""');
    t.match(hiddenInfo, 'unit=""');
    t.match(hiddenInfo, 'process="python3"', 'the process is still found');
    t.match(hidden.get('/doctor').body, /- no cgroup2 mount found .*ip netns exec/);
    t.match(hidden.log, /no cgroup2 mount found/, 'and the log says so once');
    t.ok(path.isAbsolute(cgroups.root));
  },
);
