// What the manifests share: names, labels, the port, where the host's
// filesystems appear inside the container. The manifests take every value
// from here, and test/unit/kubernetes.test.ts checks that they agree with
// each other and with the exporter (its flags, its default port, its routes).

export const NAME = 'sockdiag-exporter';

/** Labels every object carries; the pods' subset is what selectors match. */
export const LABELS: Readonly<Record<string, string>> = {
  'app.kubernetes.io/name': NAME,
  'app.kubernetes.io/component': 'exporter',
};

/** What the DaemonSet, the Service and the PodMonitor select pods by. */
export const SELECTOR: Readonly<Record<string, string>> = {
  'app.kubernetes.io/name': NAME,
};

/**
 * No image is published: build one (Node.js 20 or later with the npm
 * tarball installed globally, so that `sockdiag-exporter` is on PATH) and
 * substitute its reference for this variable, e.g. with
 * `envsubst '$SOCKDIAG_EXPORTER_IMAGE'`.
 */
export const IMAGE = '${SOCKDIAG_EXPORTER_IMAGE}';

/** The exporter's default port (src/cli/flags.ts); the test holds them equal. */
export const PORT = 19561;
export const PORT_NAME = 'metrics';
export const TELEMETRY_PATH = '/metrics';
export const HEALTH_PATH = '/healthz';

/** Where the host's filesystems are mounted in the container. */
export const HOST_PROC = '/host/proc';
export const HOST_CGROUP = '/host/sys/fs/cgroup';
/** ip netns and CNI pin namespaces here; the same path inside, as the exporter looks there. */
export const RUN_NETNS = '/run/netns';

/** Every 15 s, as deploy/prometheus.yml: the rules' window spans four scrapes. */
export const SCRAPE_INTERVAL = '15s';
