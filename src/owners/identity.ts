// Who a cgroup path belongs to: a systemd unit, a Kubernetes pod (its UID
// and QoS class) and container, or a Docker / containerd / CRI-O container.
// Pure functions over the path the cgroup v2 tree shows, for both kubelet
// cgroup drivers:
//
//   systemd:  kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid_>.slice/cri-containerd-<id>.scope
//   cgroupfs: kubepods/burstable/pod<uid>/<id>
//
// (Guaranteed pods have no QoS level: kubepods.slice/kubepods-pod<uid>.slice.)

export interface Identity {
  /** The systemd unit that holds the cgroup: nginx.service, session-3.scope. */
  unit?: string;
  /** Kubernetes pod UID, with dashes (the systemd driver writes underscores). */
  podUid?: string;
  /** guaranteed, burstable or besteffort. */
  qos?: 'guaranteed' | 'burstable' | 'besteffort';
  /** The full container id (64 hex digits, as the runtime names it). */
  containerId?: string;
  runtime?: 'containerd' | 'cri-o' | 'docker';
}

const UID = '[0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12}';
const POD_SYSTEMD = new RegExp(`^kubepods(?:-(burstable|besteffort))?-pod(${UID})\\.slice$`);
const POD_CGROUPFS = new RegExp(`^pod(${UID})$`);
const CONTAINER_ID = /^[0-9a-f]{64}$/;
/** Runtime scope names: cri-containerd-<id>.scope, crio-<id>.scope, docker-<id>.scope. */
const RUNTIME_SCOPE = /^(cri-containerd|crio|docker)-([0-9a-f]{64})\.scope$/;
const RUNTIMES = { 'cri-containerd': 'containerd', crio: 'cri-o', docker: 'docker' } as const;
const UNIT = /\.(service|scope|socket|mount|swap|target|timer)$/;

function podFrom(segment: string): { podUid: string; qos: Identity['qos'] } | null {
  const systemd = POD_SYSTEMD.exec(segment);
  if (systemd) {
    return {
      podUid: systemd[2]!.replaceAll('_', '-'),
      qos: (systemd[1] as Identity['qos']) ?? 'guaranteed',
    };
  }
  const cgroupfs = POD_CGROUPFS.exec(segment);
  return cgroupfs ? { podUid: cgroupfs[1]!.replaceAll('_', '-'), qos: undefined } : null;
}

/** Parses a cgroup path (relative to the cgroup2 mount, with or without a leading /). */
export function parseCgroupPath(path: string): Identity {
  const segments = path.split('/').filter((s) => s !== '');
  const identity: Identity = {};
  segments.forEach((segment, index) => {
    const pod = podFrom(segment);
    if (pod) {
      identity.podUid = pod.podUid;
      // cgroupfs driver: the QoS level is the folder above the pod's.
      const above = segments[index - 1];
      identity.qos =
        pod.qos ?? (above === 'burstable' || above === 'besteffort' ? above : 'guaranteed');
      return;
    }
    const scope = RUNTIME_SCOPE.exec(segment);
    if (scope) {
      identity.containerId = scope[2]!;
      identity.runtime = RUNTIMES[scope[1] as keyof typeof RUNTIMES];
      return;
    }
    // cgroupfs driver: a bare container id below the pod.
    if (identity.podUid && CONTAINER_ID.test(segment)) identity.containerId = segment;
    else if (UNIT.test(segment) && !scope) identity.unit = segment;
  });
  // A container's scope is not a unit anyone would recognise as theirs.
  if (identity.containerId && identity.unit?.endsWith(`${identity.containerId}.scope`)) {
    delete identity.unit;
  }
  return identity;
}

/**
 * The `cgroup` label value: the path, or for a cgroup in the kubepods tree
 * its pod and container ("pod:<uid>/<first 12 of the container id>"), which
 * is shorter and still unique.
 */
export function cgroupLabel(path: string, identity: Identity = parseCgroupPath(path)): string {
  const clean = path.startsWith('/') ? path : `/${path}`;
  if (!identity.podUid) return clean;
  const short = identity.containerId ? `/${identity.containerId.slice(0, 12)}` : '';
  const named = `pod:${identity.podUid}${short}`;
  return named.length < clean.length ? named : clean;
}
