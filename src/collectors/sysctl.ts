// sysctl: the limits the incident counters are measured against, next to
// them (the list is procfs/sysctl.ts SYSCTLS).
import { ProcfsError } from '../errors';
import { throwIfProblems } from '../procfs/read';
import { SYSCTLS, sysctlPath } from '../procfs/sysctl';
import { simpleCollector } from './collector';
import { family } from './families';

const HELP =
  'Network sysctl from /proc/sys/net, labelled by its dotted name; vectors are split by suffix: ' +
  'ip_local_port_range .min/.max, tcp_rmem and tcp_wmem .min/.default/.max in bytes, ' +
  'tcp_mem .min/.pressure/.max in pages (raw, not bytes). Absent sysctls are omitted: ' +
  'tcp_tw_recycle only exists before Linux 4.12, tcp_tw_reuse_delay only on recent kernels, ' +
  'and the host-wide tcp_mem and tcp_max_orphans only in the initial network namespace.';

export const sysctlCollector = simpleCollector({
  name: 'sysctl',
  help: 'Network sysctls that bound the incidents: backlogs, TIME_WAIT, ports, keepalive, memory',
  async collect({ sources }) {
    const sysctls = await sources.sysctls;
    // A file that exists and is unreadable or holds what the kernel could
    // not: the collector fails, and says which.
    throwIfProblems(sysctls.problems);
    if (sysctls.size === 0) {
      throw new ProcfsError(
        sysctlPath(sources.procfs, 'net'),
        `none of the ${SYSCTLS.length} sysctls exists: point --path.procfs at a mounted procfs`,
      );
    }
    const values = [...sysctls].map(([name, value]) => ({
      labels: { name },
      value,
    }));
    return [family('sockdiag_sysctl', HELP, 'gauge', values)];
  },
});
