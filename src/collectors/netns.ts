// netns (off by default): every other network namespace on the host, each
// series labelled with `netns`; see netns/service.ts for the two tiers. It
// needs CAP_SYS_ADMIN to enter namespaces and CAP_SYS_PTRACE to read other
// processes' /proc/PID/ns; without them it fails (success 0) and says which,
// and the exporter's own namespace is served as before.
import { defineCollector } from './collector';
import { boolean, decimal, integer, regex } from './options';

export const netnsCollector = defineCollector({
  name: 'netns',
  help: 'Every other network namespace (pods, containers): listeners, counters, sysctls and incidents per namespace, the whole table where cheap. Needs CAP_SYS_ADMIN and CAP_SYS_PTRACE: off by default.',
  defaultEnabled: false,
  options: {
    include: regex({
      help: 'Only namespaces whose name, pod UID or cgroup matches (empty: all).',
      default: '',
    }),
    exclude: regex({
      help: 'Leave out namespaces whose name, pod UID or cgroup matches.',
      default: '',
    }),
    limit: integer({
      help: 'Most namespaces scraped (by inode); the rest are counted in sockdiag_netns_namespaces{state="over_limit"}.',
      default: 256,
      min: 0,
      max: 10_000,
    }),
    full: regex({
      help: 'Namespaces (name, pod UID or cgroup) that get the full tier (the whole table) although they share the host established hash; those with their own hash get it anyway.',
      default: '',
    }),
    sysctlInterval: decimal({
      help: "Seconds a namespace's sysctls are kept before they are read again (0: every scrape). Each is a file read inside the namespace, ~22 per namespace: read every scrape they were a third of the cheap tier's cost.",
      default: 60,
      min: 0,
      max: 3600,
    }),
    allCounters: boolean({
      help: 'Every nstat counter per namespace, not only the ones the incident checks read.',
      default: false,
    }),
  },
  create(_options, services) {
    const netns = services.netns;
    if (!netns) throw new Error('the netns collector needs the namespace service');
    return { collect: () => netns.collect() };
  },
});
