// Every network namespace, on a simulated Kubernetes node: 20 namespaces of
// the three kinds a node has (named with `ip netns`, CNI-style cni-<uuid>
// pins under /run/netns, and one held only by its process), their processes
// in kubepods cgroups of both kubelet drivers, listeners, ESTABLISHED and
// TIME_WAIT sockets in each, one pod whose listener overflows and one with
// ghosts on the full tier. The exporter runs in a namespace of its own and
// must report each of the others as `nsenter --net=... ss` and `nsenter
// --net=... nstat -az` do there. Then 200 namespaces created and deleted
// across scrapes, and the exporter without CAP_SYS_ADMIN.
import { type ChildProcessWithoutNullStreams, execFileSync, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t, { type Test } from 'tap';
import { cgroup2Mount, TestCgroups } from '../helpers/cgroup';
import { parseMetrics, type RunningExporter, startExporter } from '../helpers/exporter';
import { SocketHolder } from '../helpers/holder';
import { FAST_SAMPLES } from '../helpers/lab';
import { Netns } from '../helpers/namespaces';
import { unavailable } from '../helpers/requirements';
import { parseSs, type SsRow } from '../helpers/ss';

const skip = unavailable('namespaces', 'cgroup2', 'ss', 'nstat');
const PORT = 19563;
const HOLDER = path.join(__dirname, '..', 'helpers', 'holder.py');
const EHASH = '/proc/sys/net/ipv4/tcp_child_ehash_entries';

type Kind = 'named' | 'cni' | 'process';

interface Pod {
  index: number;
  kind: Kind;
  /** The nsfs path to enter it by. */
  nsPath: string;
  /** The exporter's `netns` label: the name, else the inode. */
  label: string;
  inode: number;
  uid: string;
  containerId: string;
  driver: 'systemd' | 'cgroupfs';
  holder: SocketHolder;
  child: ChildProcessWithoutNullStreams;
  privateHash: boolean;
  /** The port of its listener. */
  port: number;
}

function inodeOf(file: string): number {
  return fs.statSync(file).ino;
}

/** Runs a command in the namespace at `nsPath`, changing nothing else. */
function inNamespace(nsPath: string, command: string, args: string[]): string {
  return execFileSync('nsenter', [`--net=${nsPath}`, command, ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 64 * 1024 * 1024,
  });
}

function ssRows(nsPath: string, args: string[]): SsRow[] {
  return parseSs(inNamespace(nsPath, 'ss', ['-H', ...args]));
}

function nstat(nsPath: string, history: string): Map<string, number> {
  const out = inNamespace(nsPath, 'env', [`NSTAT_HISTORY=${history}`, 'nstat', '-azj']);
  return new Map(Object.entries(JSON.parse(out).kernel as Record<string, number>));
}

/** The kubelet's cgroup for a container, in either driver's layout. */
function podCgroup(driver: Pod['driver'], uid: string, containerId: string): string {
  return driver === 'systemd'
    ? `kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${uid.replaceAll('-', '_')}.slice/cri-containerd-${containerId}.scope`
    : `kubepods/besteffort/pod${uid}/${containerId}`;
}

/** A holder in `cgroupDir`, entering `nsPath`, or a namespace of its own (unshare) without one. */
function spawnHolder(cgroupDir: string, nsPath: string | null): ChildProcessWithoutNullStreams {
  const enter = nsPath
    ? `exec nsenter --net="$2" python3 "$3"`
    : `exec unshare --net sh -c 'ip link set lo up && exec python3 "$0"' "$3"`;
  return spawn(
    'sh',
    ['-c', `echo $$ > "$1/cgroup.procs" && ${enter}`, 'sh', cgroupDir, nsPath ?? '', HOLDER],
    {
      stdio: 'pipe',
    },
  );
}

/** Sets net.ipv4.tcp_child_ehash_entries in the host namespace for what `make` creates. */
function withChildHash<T>(entries: number, make: () => T): T {
  const before = fs.readFileSync(EHASH, 'utf8').trim();
  fs.writeFileSync(EHASH, String(entries));
  try {
    return make();
  } finally {
    fs.writeFileSync(EHASH, before);
  }
}

class Node {
  readonly pods: Pod[] = [];
  readonly named: string[] = [];
  readonly cgroups: TestCgroups;
  readonly tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sdnetns-'));
  exporter!: RunningExporter;
  own!: Netns;

  constructor(mount: string) {
    this.cgroups = new TestCgroups(mount);
  }

  /** Names the include pattern matches: the test's namespace names, and its cgroup root for the unnamed. */
  include(): string {
    return `^(${this.named.join('|')})$|${path.basename(this.cgroups.root)}`;
  }

  async addPod(t: Test, index: number, kind: Kind, privateHash: boolean): Promise<Pod> {
    const uid = randomUUID();
    const containerId = randomBytes(32).toString('hex');
    const driver = index % 2 === 0 ? 'systemd' : 'cgroupfs';
    const dir = this.cgroups.create(podCgroup(driver, uid, containerId));
    let nsPath: string | null = null;
    if (kind !== 'process') {
      const name =
        kind === 'cni'
          ? `cni-${randomUUID()}`
          : `sdnode-${process.pid}-${randomBytes(3).toString('hex')}`;
      withChildHash(privateHash ? 1024 : 0, () =>
        execFileSync('ip', ['netns', 'add', name], { stdio: 'pipe' }),
      );
      this.named.push(name);
      nsPath = `/run/netns/${name}`;
      inNamespace(nsPath, 'ip', ['link', 'set', 'lo', 'up']);
    }
    const child = spawnHolder(dir, nsPath);
    const holder = new SocketHolder(child);
    // Its answer means it runs in its namespace (unshare has happened).
    const { pid } = (await holder.send({ op: 'ping' })) as { pid: number };
    t.equal(pid, child.pid, 'exec all the way: the holder is the spawned process');
    const entered = nsPath ?? `/proc/${child.pid}/ns/net`;
    const inode = inodeOf(entered);
    const pod: Pod = {
      index,
      kind,
      nsPath: entered,
      label: nsPath ? path.basename(nsPath) : String(inode),
      inode,
      uid,
      containerId,
      driver,
      holder,
      child,
      privateHash,
      port: 8080,
    };
    this.pods.push(pod);
    return pod;
  }

  scrape(): Map<string, number> {
    const response = this.exporter.get('/metrics');
    if (response.status !== 200) throw new Error(`scrape: ${response.status} ${response.body}`);
    return parseMetrics(response.body);
  }

  async destroy(): Promise<void> {
    await this.exporter?.stop();
    for (const pod of this.pods) await pod.holder.exit();
    for (const name of this.named) {
      try {
        execFileSync('ip', ['netns', 'del', name], { stdio: 'pipe' });
      } catch {
        // already gone
      }
    }
    this.own?.destroy();
    this.cgroups.remove();
    fs.rmSync(this.tmp, { recursive: true, force: true });
  }
}

/** `name{a="x",b="y"}` as parseMetrics keys it. */
function key(name: string, labels: Record<string, string | number>): string {
  const body = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(',');
  return `${name}{${body}}`;
}

t.test(
  'a simulated node: 20 pods, each reported as ss and nstat see it there',
  { skip },
  async (t) => {
    const node = new Node(cgroup2Mount()!);
    t.teardown(() => node.destroy());
    const kinds: Kind[] = ['named', 'cni', 'process'];
    // Pods 4 and 5 get a private established hash (full tier); pod 6 is named
    // by --collector.netns.full; the rest share the host's and are cheap.
    for (let i = 0; i < 20; i++) {
      await node.addPod(t, i, i === 4 || i === 5 ? 'named' : kinds[i % 3]!, i === 4 || i === 5);
    }
    const overflow = node.pods[2]!; // process-only: no name, its inode is the label
    const ghosts = node.pods[4]!;
    const control = node.pods[5]!;
    const namedFull = node.pods[7]!; // cni
    t.equal(overflow.kind, 'process');
    t.equal(namedFull.kind, 'cni');

    for (const pod of node.pods) {
      // A somaxconn of its own in each: the sysctl must be read inside.
      inNamespace(pod.nsPath, 'sysctl', ['-q', '-w', `net.core.somaxconn=${1000 + pod.index}`]);
      const keepalive = pod === control;
      const listener = await pod.holder.send({
        op: 'listen',
        host: '0.0.0.0',
        port: 8080,
        keepalive,
      });
      await pod.holder.send({ op: 'connect', host: '127.0.0.1', port: 8080, count: 2, keepalive });
      await pod.holder.send({ op: 'accept', id: listener.id, count: 2 });
      await pod.holder.send({ op: 'timewait', count: 3 + (pod.index % 4) });
    }
    // The overflowing pod: a listener nobody accepts from.
    await overflow.holder.send({ op: 'listen', host: '0.0.0.0', port: 9090, backlog: 1 });
    await overflow.holder.send({
      op: 'connect',
      host: '127.0.0.1',
      port: 9090,
      count: 6,
      wait: false,
    });

    node.own = Netns.create('sdnsown');
    node.exporter = await startExporter(
      node.own,
      [
        ...FAST_SAMPLES,
        '--collector.netns',
        `--collector.netns.include=${node.include()}`,
        `--collector.netns.full=^${namedFull.label}$`,
        '--collector.incidents.keepalive-idle=1',
      ],
      PORT,
      { keepMounts: true },
    );
    // Past the 1 s ghost threshold, and a second look for the counter rates.
    await sleep(1600);
    node.scrape();

    const before = new Map(
      node.pods.map((pod) => [pod.index, nstat(pod.nsPath, path.join(node.tmp, `h${pod.index}`))]),
    );
    const m = node.scrape();
    const after = new Map(
      node.pods.map((pod) => [pod.index, nstat(pod.nsPath, path.join(node.tmp, `h${pod.index}`))]),
    );

    t.equal(
      m.get(key('sockdiag_scrape_collector_success', { collector: 'netns' })),
      1,
      'netns collector succeeded',
    );
    t.equal(m.get(key('sockdiag_netns_namespaces', { state: 'scraped' })), 20, 'all 20 scraped');
    t.equal(
      m.get(key('sockdiag_netns_namespaces', { state: 'filtered' })),
      m.get(key('sockdiag_netns_namespaces', { state: 'discovered' }))! - 20,
      'every other namespace on the host filtered out',
    );

    for (const pod of node.pods) {
      const netns = pod.label;
      const what = `pod ${pod.index} (${pod.kind}, ${pod.driver})`;
      const cgroup = `pod:${pod.uid}/${pod.containerId.slice(0, 12)}`;
      t.equal(
        m.get(
          key('sockdiag_netns_info', {
            netns,
            inode: pod.inode,
            pod_uid: pod.uid,
            container_id: pod.containerId,
            cgroup,
          }),
        ),
        1,
        `${what}: identity from its process's cgroup`,
      );
      const full = pod.privateHash || pod === namedFull;
      t.equal(
        m.get(key('sockdiag_netns_tier', { netns, tier: full ? 'full' : 'cheap' })),
        1,
        `${what}: ${full ? 'full' : 'cheap'} tier`,
      );
      const ehash = Number(inNamespace(pod.nsPath, 'sysctl', ['-n', 'net.ipv4.tcp_ehash_entries']));
      t.equal(
        ehash > 0,
        pod.privateHash,
        `${what}: tcp_ehash_entries ${ehash} says ${pod.privateHash ? 'private' : 'shared'}`,
      );

      // Listeners: ss -tln's Recv-Q is the accept queue, Send-Q its limit.
      for (const row of ssRows(pod.nsPath, ['-tln'])) {
        const labels = {
          family: 'inet',
          address: row.local === '*' ? '0.0.0.0' : row.local,
          port: row.localPort,
          netns,
        };
        t.equal(
          m.get(key('sockdiag_listener_accept_queue_length', labels)),
          row.recvQ,
          `${what}: :${row.localPort} accept queue as ss`,
        );
        t.equal(
          m.get(key('sockdiag_listener_accept_queue_limit', labels)),
          row.sendQ,
          `${what}: :${row.localPort} limit as ss`,
        );
      }
      // Counters: between nstat's look before the scrape and after it.
      const [n1, n2] = [before.get(pod.index)!, after.get(pod.index)!];
      let counters = 0;
      for (const [name, value] of m) {
        const match =
          /^sockdiag_netstat_(?:total|value)\{group="(\w+)",field="(\w+)",netns="([^"]+)"\}$/.exec(
            name,
          );
        if (!match || match[3] !== netns) continue;
        const nstatName = `${match[1]}${match[2]}`;
        if (!n2.has(nstatName)) {
          // nstat leaves out the one gauge, Tcp.CurrEstab: compared with ss below.
          if (nstatName !== 'TcpCurrEstab') t.fail(`${what}: nstat has no ${nstatName}`);
          continue;
        }
        const [low, high] = [n1.get(nstatName)!, n2.get(nstatName)!];
        if (!(value >= low && value <= high)) {
          t.fail(`${what}: ${nstatName} ${value}, nstat ${low}..${high}`);
        }
        counters++;
      }
      t.ok(counters >= 20, `${what}: ${counters} incident counters, each as nstat -az`);
      const overflows = m.get(
        key('sockdiag_netstat_total', { group: 'TcpExt', field: 'ListenOverflows', netns }),
      );
      if (pod === overflow) t.ok(overflows! > 0, `${what}: ListenOverflows ${overflows}`);
      else t.equal(overflows, 0, `${what}: no ListenOverflows`);
      const tcp = ssRows(pod.nsPath, ['-tan']);
      const count = (state: string) => tcp.filter((r) => r.state === state).length;
      t.equal(
        m.get(key('sockdiag_sockstat_TCP_tw', { netns })),
        count('time_wait'),
        `${what}: TIME_WAIT ${count('time_wait')} as ss`,
      );
      t.equal(
        m.get(key('sockdiag_netstat_value', { group: 'Tcp', field: 'CurrEstab', netns })),
        count('established') + count('close_wait'),
        `${what}: CurrEstab as ss`,
      );
      t.equal(
        m.get(key('sockdiag_sysctl', { name: 'net.core.somaxconn', netns })),
        1000 + pod.index,
        `${what}: its own somaxconn`,
      );

      // The whole table only on the full tier, and then as ss has it.
      for (const state of ['listen', 'established', 'time_wait', 'syn_sent']) {
        const value = m.get(
          key('sockdiag_sockets', { protocol: 'tcp', family: 'inet', state, netns }),
        );
        if (full) t.equal(value, count(state), `${what}: ${state} ${count(state)} as ss`);
        else t.equal(value, undefined, `${what}: no table on the cheap tier`);
      }

      // Incidents, with their netns label: only the overflowing pod's listener and the ghosts fire.
      t.equal(
        m.get(key('sockdiag_incident_detected', { incident: 'accept_queue_overflow', netns })),
        pod === overflow ? 1 : 0,
        `${what}: accept_queue_overflow ${pod === overflow ? 'fires' : 'quiet'}`,
      );
      t.equal(
        m.get(key('sockdiag_incident_evaluated', { incident: 'keepalive_ghosts', netns })),
        full ? 1 : 0,
        `${what}: ghosts ${full ? 'evaluated' : 'not evaluated without a table'}`,
      );
      if (full) {
        t.equal(
          m.get(key('sockdiag_incident_detected', { incident: 'keepalive_ghosts', netns })),
          pod === control ? 0 : 1,
          `${what}: keepalive_ghosts ${pod === control ? 'quiet: keepalive on' : 'fires'}`,
        );
      }
    }
    // The ghosts are what ss shows as ESTABLISHED without a keepalive timer.
    const idle = ssRows(ghosts.nsPath, ['-tano']).filter(
      (r) => r.state === 'established' && r.timer !== 'keepalive',
    );
    t.equal(
      m.get(
        key('sockdiag_incident_evidence', {
          incident: 'keepalive_ghosts',
          evidence: 'established, no keepalive, idle > 1 s',
          netns: ghosts.label,
        }),
      ),
      idle.length,
      `ghost pod: ${idle.length} ghosts, as ss -o`,
    );

    // /doctor names the pod, the listener and the cause.
    const text = node.exporter.get('/doctor').body;
    t.match(text, /other namespaces: 20 scraped, 3 with an incident/);
    t.match(
      text,
      new RegExp(
        `pod ${overflow.uid} \\(container ${overflow.containerId.slice(0, 12)}, netns ${overflow.label}\\): \\d+ incidents?`,
      ),
    );
    t.match(text, /0\.0\.0\.0:9090/);
    const report = JSON.parse(
      node.exporter.get('/doctor', { Accept: 'application/json' }).body,
    ) as {
      namespaces: {
        netns: string;
        podUid?: string;
        status: string;
        findings: { incident: string; fired: boolean }[];
      }[];
    };
    for (const ns of report.namespaces) {
      const pod = node.pods.find((p) => p.label === ns.netns);
      t.ok(pod, `/doctor: ${ns.netns} is one of ours`);
      t.equal(ns.podUid, pod?.uid, `/doctor: ${ns.netns} has its pod UID`);
      const fired = ns.findings.filter((f) => f.fired).map((f) => f.incident);
      const expected =
        pod === overflow
          ? ['accept_queue_overflow']
          : pod === ghosts || pod === namedFull
            ? ['keepalive_ghosts']
            : [];
      t.same(fired, expected, `/doctor: ${ns.netns} fired ${expected.join(', ') || 'nothing'}`);
    }
  },
);
