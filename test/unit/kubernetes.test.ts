// deploy/kubernetes/: the committed manifests are what the generator
// writes, and they hold together: the exporter's own flag parser takes the
// DaemonSet's arguments, the probes and the monitors' path are routes the
// server answers, the privileges are exactly the four capabilities, every
// host mount is read-only and declared, and the selectors, labels and port
// names of the DaemonSet, Service, ServiceMonitor and PodMonitor line up.
// (Field names and types are checked by tsc in `npm run lint`: the
// generator is typed against kubernetes-types.)
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import t from 'tap';
import YAML from 'yaml';
import type { Container, PodSpec, Service } from 'kubernetes-types/core/v1';
import type { DaemonSet } from 'kubernetes-types/apps/v1';
import { COLLECTORS } from '../../src/collectors';
import { DEFAULT_LISTEN_ADDRESS, parseFlags, parseListenAddress } from '../../src/cli/flags';
import { buildServer } from '../../src/http/server';
import { DEFAULT_CONFIG } from '../../grafana/mixin/config';
import { parsePromql } from '../../grafana/mixin/lint/promql';
import { generate, objects } from '../../deploy/kubernetes/generator/generate';
import type {
  PodMonitor,
  ServiceMonitor,
} from '../../deploy/kubernetes/generator/monitoring-types';
import { testRegistry } from '../helpers/context';
import { ROOT } from '../helpers/paths';

const DIR = path.join(ROOT, 'deploy', 'kubernetes');
const files = generate();
/** The committed manifests, parsed: what kubectl would apply. */
const committed = (name: string): unknown => YAML.parse(readFileSync(path.join(DIR, name), 'utf8'));
const daemonSet = committed('daemonset.yaml') as DaemonSet;
const service = committed('service.yaml') as Service;
const serviceMonitor = committed('servicemonitor.yaml') as ServiceMonitor;
const podMonitor = committed('podmonitor.yaml') as PodMonitor;
const pod = daemonSet.spec!.template.spec as PodSpec;
const container = pod.containers[0] as Container;
const podLabels = daemonSet.spec!.template.metadata!.labels!;

/** Every key of `selector` has its value in `labels`. */
const selects = (selector: Record<string, string> | undefined, labels: Record<string, string>) =>
  selector !== undefined &&
  Object.keys(selector).length > 0 &&
  Object.entries(selector).every(([key, value]) => labels[key] === value);

t.test('the committed manifests are what npm run k8s writes', async (t) => {
  for (const [name, content] of files) {
    const text = readFileSync(path.join(DIR, name), 'utf8');
    t.ok(text === content, `deploy/kubernetes/${name} is current (else: npm run k8s)`);
    t.same(YAML.parse(text), objects().get(name), `${name} parses back to its object`);
  }
  const yaml = readdirSync(DIR).filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'));
  t.same(yaml.sort(), [...files.keys()].sort(), 'no stray manifests');
});

t.test('the exporter parses the DaemonSet’s arguments', async (t) => {
  t.same(container.command, ['sockdiag-exporter'], 'the command the npm package installs');
  // parseFlags throws on an unknown flag or a bad value: a renamed flag fails here.
  const config = parseFlags(container.args!, COLLECTORS);
  t.throws(
    () => parseFlags([...container.args!, '--path.procs=/host/proc'], COLLECTORS),
    /path\.procs/,
    'and would refuse a misspelt one',
  );
  t.ok(config.enabled.has('netns'), '--collector.netns is on');
  const mounts = new Map(container.volumeMounts!.map((m) => [m.name, m]));
  t.equal(config.procfs, mounts.get('proc')?.mountPath, '--path.procfs is where /proc is mounted');
  t.equal(config.cgroupfs, mounts.get('cgroup')?.mountPath, '--path.cgroupfs likewise');
  const port = container.ports!.find((p) => p.name === 'metrics')!;
  t.equal(parseListenAddress(config.listenAddress).port, port.containerPort, 'listens on the port');
  t.equal(port.containerPort, parseListenAddress(DEFAULT_LISTEN_ADDRESS).port, 'the default');
  t.ok(
    pod.terminationGracePeriodSeconds! > config.shutdownTimeout,
    'the grace period outlasts --web.shutdown-timeout',
  );
  t.same(container.env, [{ name: 'MALLOC_ARENA_MAX', value: '2' }], 'as the systemd unit');
});

t.test('the probes and the monitors hit routes the exporter serves', async (t) => {
  const server = buildServer({ registry: testRegistry([]), log: pino({ level: 'silent' }) });
  t.teardown(() => server.close());
  const containerPorts = new Set(container.ports!.map((p) => p.name));
  for (const [kind, probe] of [
    ['liveness', container.livenessProbe],
    ['readiness', container.readinessProbe],
  ] as const) {
    const get = probe?.httpGet;
    t.ok(get, `${kind} probe is an HTTP GET`);
    t.ok(containerPorts.has(String(get?.port)), `${kind} probe targets a named container port`);
    const response = await server.inject({ url: get!.path! });
    t.equal(response.statusCode, 200, `${kind}: GET ${get!.path} answers 200`);
  }
  const paths = [
    ...serviceMonitor.spec.endpoints.map((e) => e.path),
    ...podMonitor.spec.podMetricsEndpoints.map((e) => e.path),
  ];
  for (const url of new Set(paths)) {
    const response = await server.inject({ url: url ?? '/metrics' });
    t.equal(response.statusCode, 200, `the monitors scrape ${url}`);
  }
  t.equal(parseFlags(container.args!, COLLECTORS).telemetryPath, paths[0], 'the telemetry path');
});

t.test('privileges: root with exactly four capabilities, nothing writable', async (t) => {
  const sc = container.securityContext!;
  t.equal(sc.runAsUser, 0);
  t.equal(sc.privileged, false);
  t.equal(sc.allowPrivilegeEscalation, false);
  t.equal(sc.readOnlyRootFilesystem, true);
  t.same(sc.capabilities?.drop, ['ALL']);
  t.same(
    [...(sc.capabilities?.add ?? [])].sort(),
    ['DAC_READ_SEARCH', 'SYS_ADMIN', 'SYS_PTRACE'],
    'SYS_ADMIN (setns), SYS_PTRACE (/proc/PID/ns, fd), DAC_READ_SEARCH (others’ /proc/PID/fd)',
  );
  t.equal(pod.hostNetwork, true, 'the node’s own namespace is the host one');
  t.equal(pod.hostPID, true, 'the host’s processes');
  t.equal(pod.automountServiceAccountToken, false, 'no API token: it never talks to the API');
  t.notOk(pod.initContainers, 'no other container gets privileges');
  t.equal(pod.containers.length, 1);
});

t.test('host mounts: declared, read-only, where the flags point', async (t) => {
  const volumes = new Map((pod.volumes ?? []).map((v) => [v.name, v]));
  const mounts = container.volumeMounts ?? [];
  t.equal(volumes.size, pod.volumes?.length, 'volume names are unique');
  for (const m of mounts) {
    t.ok(volumes.has(m.name), `mount ${m.name} refers to a declared volume`);
    t.equal(m.readOnly, true, `${m.mountPath} is read-only`);
    t.ok(
      m.mountPropagation === undefined || m.mountPropagation === 'HostToContainer',
      `${m.mountPath}: no propagation back to the host`,
    );
  }
  t.same(
    [...volumes.keys()].sort(),
    mounts.map((m) => m.name).sort(),
    'every volume is mounted, once',
  );
  const hostPathOf = (mountPath: string) => {
    const mount = mounts.find((m) => m.mountPath === mountPath);
    return mount ? volumes.get(mount.name)?.hostPath?.path : undefined;
  };
  t.equal(hostPathOf('/host/proc'), '/proc');
  t.equal(hostPathOf('/host/sys/fs/cgroup'), '/sys/fs/cgroup');
  t.equal(hostPathOf('/run/netns'), '/run/netns', 'the same path the discovery reads');
  t.equal(
    mounts.find((m) => m.mountPath === '/run/netns')?.mountPropagation,
    'HostToContainer',
    'namespaces pinned (and unpinned) after the pod started are seen',
  );
});

t.test('scheduling: every node, critical, sized from the unit', async (t) => {
  t.ok(
    pod.tolerations?.some((tol) => tol.operator === 'Exists' && !tol.key && !tol.effect),
    'a toleration of every taint (control plane included)',
  );
  t.equal(pod.priorityClassName, 'system-node-critical');
  const unit = readFileSync(path.join(ROOT, 'deploy', 'sockdiag-exporter.service'), 'utf8');
  const memoryMax = /^MemoryMax=(\d+)M$/m.exec(unit)?.[1];
  t.equal(container.resources?.limits?.memory, `${memoryMax}Mi`, 'the unit’s MemoryMax');
  const request = /^(\d+)Mi$/.exec(String(container.resources?.requests?.memory))?.[1];
  t.ok(request && Number(request) <= Number(memoryMax), 'the request fits under the limit');
  t.notOk(container.resources?.limits?.cpu, 'no CPU limit (a throttled dump only lasts longer)');
  t.equal(container.image, '${SOCKDIAG_EXPORTER_IMAGE}', 'no published image: a variable');
});

t.test('selectors, labels and ports line up', async (t) => {
  const selector = daemonSet.spec!.selector.matchLabels;
  t.ok(selects(selector, podLabels), 'the DaemonSet selects its own pods');
  t.ok(selects(service.spec!.selector, podLabels), 'the Service selects those pods');
  t.equal(service.spec!.clusterIP, 'None', 'headless');
  const servicePort = service.spec!.ports!.find((p) => p.name === 'metrics');
  t.ok(servicePort, 'the Service port is named metrics');
  t.ok(
    container.ports!.some(
      (p) => p.name === servicePort!.targetPort && p.containerPort === servicePort!.port,
    ),
    'its target is the container port of that name and number',
  );
  t.ok(
    selects(serviceMonitor.spec.selector.matchLabels, service.metadata!.labels!),
    'the ServiceMonitor selects the Service',
  );
  t.same(
    serviceMonitor.spec.endpoints.map((e) => e.port),
    ['metrics'],
    'by the Service port name',
  );
  t.ok(selects(podMonitor.spec.selector.matchLabels, podLabels), 'the PodMonitor selects the pods');
  t.same(
    podMonitor.spec.podMetricsEndpoints.map((e) => e.port),
    container.ports!.map((p) => p.name),
    'by the container port name',
  );
});

t.test('the monitors name the job the mixin’s rules select', async (t) => {
  const job = /job="([^"]+)"/.exec(DEFAULT_CONFIG.selector)![1];
  for (const [kind, endpoints] of [
    ['ServiceMonitor', serviceMonitor.spec.endpoints],
    ['PodMonitor', podMonitor.spec.podMetricsEndpoints],
  ] as const) {
    const relabel = endpoints[0]!.relabelings?.find((r) => r.targetLabel === 'job');
    t.equal(relabel?.replacement, job, `${kind} sets job="${job}"`);
    t.equal(relabel?.action, 'replace');
    t.notOk(relabel?.sourceLabels, 'a constant, not taken from a label');
  }
});

t.test('the PrometheusRule is the mixin’s', async (t) => {
  const fromMixin = YAML.parse(
    readFileSync(path.join(ROOT, 'grafana', 'prometheusrule.yml'), 'utf8'),
  );
  t.same(
    committed('prometheusrule.yaml'),
    fromMixin,
    'grafana/prometheusrule.yml, object for object',
  );
});

t.test('the README’s Kubernetes queries parse', async (t) => {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const section = /^## Kubernetes\n([^]*?)^## /m.exec(readme)?.[1] ?? '';
  const queries = [...section.matchAll(/```promql\n([^]*?)```/g)].map((m) => m[1]!);
  t.ok(queries.length >= 2, 'the section has its join examples');
  for (const query of queries) {
    t.same(parsePromql(query).errors, [], query.split('\n')[0]!);
    t.match(query, /sockdiag_netns_info/, 'joins through sockdiag_netns_info');
  }
});
