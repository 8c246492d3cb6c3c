// Socket counts and memory per protocol from /proc/net/sockstat{,6}: the
// cheap TIME_WAIT total to hold against tcp_max_tw_buckets, and TCP memory
// to hold against tcp_mem, without walking the socket table.
import { ProcfsError } from '../errors';
import { throwIfProblems } from '../procfs/read';
import { pageSize, type SockstatValue } from '../procfs/sockstat';
import { defineCollector, type MetricFamily, type ScrapeContext } from './collector';

// The kernel keeps these in host-wide counters (docs/KERNEL.md), so an
// exporter in a container sees the whole machine's numbers for them.
const HOST_GLOBAL_KEYS = new Set(['orphan', 'alloc', 'mem']);

const MEANINGS: Record<string, string> = {
  used: 'sockets of every kind in use',
  inuse: 'sockets of this protocol in use',
  orphan: 'TCP sockets closed by their process but still finishing (no file descriptor)',
  tw: 'TCP sockets in TIME_WAIT',
  alloc: 'TCP sockets allocated, in any state',
  mem: "memory charged to this protocol, converted from the kernel's pages to bytes",
  memory: 'memory held by IP fragment reassembly queues, in bytes',
};

function helpText(entry: SockstatValue, file: string): string {
  const meaning = MEANINGS[entry.key];
  let help = `${entry.protocol} ${entry.key} from /proc/net/${file}`;
  help += meaning === undefined ? '.' : `: ${meaning}.`;
  if (HOST_GLOBAL_KEYS.has(entry.key)) {
    help += ' Inside a network namespace this is host-global, not per namespace.';
  }
  return help;
}

type SockstatFileName = 'sockstat' | 'sockstat6';

function family(entry: SockstatValue, file: SockstatFileName, bytesPerPage: number): MetricFamily {
  const base = `sockdiag_sockstat_${entry.protocol}_${entry.key}`;
  let name = base;
  let value = entry.value;
  if (entry.key === 'mem') {
    name = `${base}_bytes`;
    value = entry.value * bytesPerPage;
  } else if (entry.key === 'memory') {
    name = `${base}_bytes`;
  }
  return {
    name,
    help: helpText(entry, file),
    type: 'gauge',
    values: [{ value }],
  };
}

async function collect(context: ScrapeContext): Promise<MetricFamily[]> {
  const { sources } = context;
  const [files, bytesPerPage] = await Promise.all([sources.sockstat, pageSize()]);
  // sockstat6 is absent with IPv6 disabled; sockstat itself always exists.
  if (files.sockstat === null) {
    throw new ProcfsError(
      `${sources.procfs}/net/sockstat`,
      'does not exist: point --path.procfs at a mounted procfs',
    );
  }
  throwIfProblems(files.problems);
  const seen = new Set<string>();
  const families: MetricFamily[] = [];
  const inputs: [SockstatFileName, SockstatValue[] | null][] = [
    ['sockstat', files.sockstat],
    ['sockstat6', files.sockstat6],
  ];
  for (const [file, entries] of inputs) {
    for (const entry of entries ?? []) {
      const key = `${entry.protocol}.${entry.key}`;
      if (seen.has(key)) continue;
      seen.add(key);
      families.push(family(entry, file, bytesPerPage));
    }
  }
  return families;
}

export const sockstatCollector = defineCollector({
  name: 'sockstat',
  help: 'Socket counts and memory per protocol from /proc/net/sockstat and sockstat6',
  defaultEnabled: true,
  options: {},
  create: () => {
    // Ask for the page size at startup, so the first scrape does not wait on getconf.
    void pageSize();
    return { collect };
  },
});
