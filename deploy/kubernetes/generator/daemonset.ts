// One exporter per node, in the node's own network namespace, that enters
// every other namespace (pods, containers) with --collector.netns. What each
// privilege is for is said where it is granted; the README's "Kubernetes"
// section says it for operators.
import type { DaemonSet } from 'kubernetes-types/apps/v1';
import type { Container, Probe, Volume, VolumeMount } from 'kubernetes-types/core/v1';
import {
  HEALTH_PATH,
  HOST_CGROUP,
  HOST_PROC,
  IMAGE,
  LABELS,
  NAME,
  PORT,
  PORT_NAME,
  RUN_NETNS,
  SELECTOR,
} from './config';

/** The values the API accepts for mountPropagation (a plain string in kubernetes-types). */
type MountPropagation = 'None' | 'HostToContainer' | 'Bidirectional';

interface HostMount {
  name: string;
  hostPath: string;
  /** Directory: must exist on the node; DirectoryOrCreate: made (empty) when missing. */
  type: 'Directory' | 'DirectoryOrCreate';
  mountPath: string;
  propagation?: MountPropagation;
}

const HOST_MOUNTS: readonly HostMount[] = [
  // The host's processes, for their network namespaces (/proc/PID/ns/net),
  // cgroups and sockets' owners: hostPID makes the PIDs the host's.
  { name: 'proc', hostPath: '/proc', type: 'Directory', mountPath: HOST_PROC },
  // The cgroup v2 hierarchy, to turn a socket's cgroup id into a path (pod
  // UID, container id): inside, the container's cgroup namespace shows only
  // its own subtree. New cgroups are directories, not mounts: no propagation.
  { name: 'cgroup', hostPath: '/sys/fs/cgroup', type: 'Directory', mountPath: HOST_CGROUP },
  // Namespaces pinned by `ip netns` and CNI (cni-<uuid>). Each is a bind
  // mount made after the pod starts, so they must propagate in, and their
  // unmounts too: a mount kept only in this container would keep a deleted
  // pod's namespace alive.
  {
    name: 'netns',
    hostPath: RUN_NETNS,
    type: 'DirectoryOrCreate',
    mountPath: RUN_NETNS,
    propagation: 'HostToContainer',
  },
];

const volumes: Volume[] = HOST_MOUNTS.map((m): Volume => ({
  name: m.name,
  hostPath: { path: m.hostPath, type: m.type },
}));

const volumeMounts: VolumeMount[] = HOST_MOUNTS.map((m): VolumeMount => ({
  name: m.name,
  mountPath: m.mountPath,
  readOnly: true,
  ...(m.propagation ? { mountPropagation: m.propagation } : {}),
}));

/** The exporter's flags: every one must parse (the unit test runs the exporter's parser). */
export const ARGS: readonly string[] = [
  `--web.listen-address=:${PORT}`,
  `--path.procfs=${HOST_PROC}`,
  `--path.cgroupfs=${HOST_CGROUP}`,
  '--collector.netns',
];

const probe = (periodSeconds: number): Probe => ({
  httpGet: { path: HEALTH_PATH, port: PORT_NAME, scheme: 'HTTP' },
  periodSeconds,
  timeoutSeconds: 5,
  failureThreshold: 3,
});

const container: Container = {
  name: NAME,
  image: IMAGE,
  imagePullPolicy: 'IfNotPresent',
  command: ['sockdiag-exporter'],
  args: [...ARGS],
  // As in the systemd unit: glibc would give each receiver thread its own
  // malloc arena, up to 8 per CPU; two are plenty.
  env: [{ name: 'MALLOC_ARENA_MAX', value: '2' }],
  ports: [{ name: PORT_NAME, containerPort: PORT, protocol: 'TCP' }],
  livenessProbe: probe(20),
  readinessProbe: probe(10),
  // Measured: about 71-75 MiB resident idle, a peak near 130 MiB while a
  // table of 200,000 sockets is dumped (bench/RESULTS.md); a full scrape
  // of that table takes about 0.2 s of two CPUs. The limit is the systemd
  // unit's MemoryMax: it leaves room for a million-socket table and for the
  // socket buffers of slow clients, which cgroup v2 charges to the pod. No
  // CPU limit: throttling would only stretch a dump while the kernel holds
  // its hash locks.
  resources: {
    requests: { cpu: '100m', memory: '160Mi' },
    limits: { memory: '512Mi' },
  },
  securityContext: {
    // Root, for other users' /proc/PID/ns and /proc/PID/fd, with only:
    // SYS_ADMIN to setns() into another network namespace; SYS_PTRACE to
    // read other processes' /proc/PID/ns, cgroup and fd links; DAC_READ_SEARCH
    // to walk /proc/PID/fd of processes owned by other users. Measured with
    // setpriv (test/live/netns-lifecycle.test.ts runs the exporter with
    // exactly these): each of the three is needed, and nothing more.
    runAsUser: 0,
    runAsGroup: 0,
    runAsNonRoot: false,
    privileged: false,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: {
      drop: ['ALL'],
      add: ['SYS_ADMIN', 'SYS_PTRACE', 'DAC_READ_SEARCH'],
    },
    // The runtime's default seccomp filter allows setns() to a container
    // that holds CAP_SYS_ADMIN. Its default AppArmor profile allows ptrace
    // reads only of processes under the same profile, so /proc/PID/ns of
    // the host's and other pods' processes would be refused: unconfined.
    seccompProfile: { type: 'RuntimeDefault' },
    appArmorProfile: { type: 'Unconfined' },
  },
  volumeMounts,
  terminationMessagePolicy: 'FallbackToLogsOnError',
};

export const daemonSet: DaemonSet = {
  apiVersion: 'apps/v1',
  kind: 'DaemonSet',
  metadata: { name: NAME, labels: { ...LABELS } },
  spec: {
    selector: { matchLabels: { ...SELECTOR } },
    updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } },
    template: {
      metadata: { labels: { ...LABELS } },
      spec: {
        // The node's own namespace is the "host" one the exporter reports
        // unlabelled; hostPID for the host's processes and their namespaces.
        hostNetwork: true,
        hostPID: true,
        // It never talks to the Kubernetes API: pod names come from
        // joining with kube-state-metrics in Prometheus.
        automountServiceAccountToken: false,
        enableServiceLinks: false,
        nodeSelector: { 'kubernetes.io/os': 'linux' },
        // Every node, control plane and tainted ones included: an
        // incident on a node nobody watches is still an incident.
        tolerations: [{ operator: 'Exists' }],
        priorityClassName: 'system-node-critical',
        // More than --web.shutdown-timeout (10 s), as the unit's TimeoutStopSec.
        terminationGracePeriodSeconds: 15,
        containers: [container],
        volumes,
      },
    },
  },
};
