// The limits the incident counters are measured against, next to them:
// accept and SYN backlogs, TIME_WAIT buckets, ephemeral ports, keepalive,
// socket memory. A fixed list, so the label's cardinality is bounded.
import type { CollectorDefinition, MetricFamily, MetricSample, ScrapeContext } from './collector';
import { parseSysctlValues, readSysctl } from '../procfs/sysctl';
import { getSysctls } from './sources';

interface SysctlSpec {
  name: string;
  /** Label suffixes for vector sysctls, in the kernel's order. */
  parts?: readonly string[];
}

const MEMORY_PARTS = ['min', 'default', 'max'] as const;

const SYSCTLS: readonly SysctlSpec[] = [
  { name: 'net.core.somaxconn' },
  { name: 'net.ipv4.tcp_max_syn_backlog' },
  { name: 'net.ipv4.tcp_syncookies' },
  { name: 'net.ipv4.tcp_abort_on_overflow' },
  { name: 'net.ipv4.tcp_max_tw_buckets' },
  { name: 'net.ipv4.tcp_tw_reuse' },
  // Newer than 6.12; absent before.
  { name: 'net.ipv4.tcp_tw_reuse_delay' },
  // Removed in 4.12: its absence is the answer to "is tw_recycle on?".
  { name: 'net.ipv4.tcp_tw_recycle' },
  { name: 'net.ipv4.tcp_timestamps' },
  { name: 'net.ipv4.tcp_fin_timeout' },
  { name: 'net.ipv4.tcp_keepalive_time' },
  { name: 'net.ipv4.tcp_keepalive_intvl' },
  { name: 'net.ipv4.tcp_keepalive_probes' },
  { name: 'net.ipv4.ip_local_port_range', parts: ['min', 'max'] },
  // Host-wide: only the initial network namespace has this file (and tcp_mem).
  { name: 'net.ipv4.tcp_max_orphans' },
  { name: 'net.ipv4.tcp_syn_retries' },
  { name: 'net.ipv4.tcp_synack_retries' },
  { name: 'net.ipv4.tcp_rmem', parts: MEMORY_PARTS },
  { name: 'net.ipv4.tcp_wmem', parts: MEMORY_PARTS },
  // The kernel documents tcp_mem's middle value as "pressure", not a default.
  { name: 'net.ipv4.tcp_mem', parts: ['min', 'pressure', 'max'] },
  { name: 'net.core.rmem_max' },
  { name: 'net.core.wmem_max' },
];

const HELP =
  'Network sysctl from /proc/sys/net, labelled by its dotted name; vectors are split by suffix: ' +
  'ip_local_port_range .min/.max, tcp_rmem and tcp_wmem .min/.default/.max in bytes, ' +
  'tcp_mem .min/.pressure/.max in pages (raw, not bytes). Absent sysctls are omitted: ' +
  'tcp_tw_recycle only exists before Linux 4.12, tcp_tw_reuse_delay only on recent kernels, ' +
  'and the host-wide tcp_mem and tcp_max_orphans only in the initial network namespace.';

function samples(spec: SysctlSpec, text: string): MetricSample[] {
  const parts = spec.parts ?? [];
  const values = parseSysctlValues(text, Math.max(parts.length, 1));
  if (values === null) return [];
  if (parts.length === 0) return [{ value: values[0] ?? 0, labels: { name: spec.name } }];
  return parts.map((part, i) => ({
    value: values[i] ?? 0,
    labels: { name: `${spec.name}.${part}` },
  }));
}

/** Every listed sysctl this kernel has, one sample per value. */
export async function readSysctlSamples(procfs: string): Promise<MetricSample[]> {
  const texts = await Promise.all(SYSCTLS.map((spec) => readSysctl(procfs, spec.name)));
  const values: MetricSample[] = [];
  SYSCTLS.forEach((spec, i) => {
    const text = texts[i];
    if (text !== null && text !== undefined) values.push(...samples(spec, text));
  });
  return values;
}

async function collect(context: ScrapeContext): Promise<MetricFamily[]> {
  const sysctls = await getSysctls(context);
  const values = [...sysctls].map(([name, value]) => ({ labels: { name }, value }));
  return [{ name: 'sockdiag_sysctl', help: HELP, type: 'gauge', values }];
}

export const sysctlCollector: CollectorDefinition = {
  name: 'sysctl',
  help: 'Network sysctls that bound the incidents: backlogs, TIME_WAIT, ports, keepalive, memory',
  defaultEnabled: true,
  options: [],
  create: () => ({ collect }),
};
