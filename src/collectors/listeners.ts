// listeners: every listening TCP endpoint: accept queue length and limit,
// the listener's own drop counter, half-open connections.
import type { Listener } from '../scan/listeners';
import { defineCollector, type MetricFamily, type MetricSample } from './collector';
import { boolean, decimal, integer } from './options';

function family(
  name: string,
  help: string,
  type: MetricFamily['type'],
  listeners: Listener[],
  pick: (listener: Listener) => number | undefined,
): MetricFamily {
  const values: MetricSample[] = [];
  for (const listener of listeners) {
    const value = pick(listener);
    if (value === undefined) continue;
    values.push({
      labels: { family: listener.family, address: listener.address, port: listener.port },
      value,
    });
  }
  return { name, help, type, values };
}

export function listenerFamilies(listeners: Listener[]): MetricFamily[] {
  const out = [
    family(
      'sockdiag_listener_accept_queue_length',
      'Connections that completed the handshake and wait for accept() on this listener (LISTEN rqueue). At the limit, new handshakes are dropped (ListenOverflows).',
      'gauge',
      listeners,
      (l) => l.acceptQueue,
    ),
    family(
      'sockdiag_listener_accept_queue_limit',
      'Effective accept backlog of this listener: min(listen() backlog, net.core.somaxconn) (LISTEN wqueue), summed over SO_REUSEPORT sockets.',
      'gauge',
      listeners,
      (l) => l.acceptQueueLimit,
    ),
    family(
      'sockdiag_listener_drops_total',
      'Packets this listener dropped (skmeminfo drops of the listening socket: accept queue overflows and other listen drops). Resets when the listener is re-created.',
      'counter',
      listeners,
      (l) => l.drops,
    ),
    family(
      'sockdiag_listener_sockets',
      'Listening sockets bound to this endpoint (more than 1 with SO_REUSEPORT).',
      'gauge',
      listeners,
      (l) => l.sockets,
    ),
  ];
  if (listeners.some((l) => l.halfOpen !== undefined)) {
    out.push(
      family(
        'sockdiag_listener_half_open_sockets',
        "Half-open connections (SYN_RECV request sockets) toward this listener, from the sockets collector's dump. Compare with sockdiag_listener_accept_queue_limit, which is also this listener's SYN-queue limit; without SYN cookies SYNs are also dropped past 3/4 of net.ipv4.tcp_max_syn_backlog.",
        'gauge',
        listeners,
        (l) => l.halfOpen,
      ),
    );
  }
  return out;
}

/** The owners of the exported listeners, to join on (family, address, port). */
function ownerFamily(listeners: Listener[]): MetricFamily {
  const values: MetricSample[] = listeners.map((l) => {
    const identity = l.owner?.cgroup?.identity;
    return {
      labels: {
        family: l.family,
        address: l.address,
        port: l.port,
        process: l.owner?.process?.command ?? '',
        unit: identity?.unit ?? '',
        cgroup: l.owner?.cgroup?.label ?? '',
        pod_uid: identity?.podUid ?? '',
        container_id: identity?.containerId ?? '',
      },
      value: 1,
    };
  });
  return {
    name: 'sockdiag_listener_owner_info',
    help: 'Who holds each listening endpoint: its process (from /proc/PID/fd), its cgroup and what the cgroup path says (systemd unit, Kubernetes pod UID, container id). Always 1; join on family, address and port. Empty labels: GET /doctor says why.',
    type: 'gauge',
    values,
  };
}

export const listenersCollector = defineCollector({
  name: 'listeners',
  help: 'Every listening TCP socket: accept queue length and limit, drops, half-open connections (LISTEN-only dump).',
  defaultEnabled: true,
  options: {
    limit: integer({
      help: 'Most listening endpoints exported; beyond it, those with the fullest accept queues are kept.',
      default: 1000,
      min: 0,
      max: 100_000,
    }),
    processes: boolean({
      help: "Find each listener's process in /proc/PID/fd (needs root or CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH for other users' processes).",
      default: true,
    }),
    processScanBudget: decimal({
      help: 'Seconds of reading the /proc/PID/fd scan for unknown listeners may spend each second (shared by every namespace, counted slice by slice); it resumes on the next scrape.',
      default: 0.05,
      min: 0,
      max: 10,
    }),
  },
  create({ limit }) {
    return {
      async collect({ sources }) {
        let listeners = [...(await sources.listeners)];
        if (listeners.length > limit) {
          listeners = listeners
            .sort(
              (a, b) =>
                b.acceptQueue / (b.acceptQueueLimit || 1) -
                a.acceptQueue / (a.acceptQueueLimit || 1),
            )
            .slice(0, limit);
        }
        listeners.sort((a, b) => a.port - b.port || a.address.localeCompare(b.address));
        const families = listenerFamilies(listeners);
        if (sources.owners) families.push(ownerFamily(listeners));
        return families;
      },
    };
  },
});
