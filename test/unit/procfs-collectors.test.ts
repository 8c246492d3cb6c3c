// The netstat, sockstat and sysctl collectors on fixture procfs trees:
// metric names, types, help text, units and what they share.
import path from 'node:path';
import t from 'tap';
import { createCollector, scrapeContext } from '../helpers/context';
import type {
  CollectorDefinition,
  MetricFamily,
  ScrapeContext,
} from '../../src/collectors/collector';
import { netstatCollector } from '../../src/collectors/netstat';
import { sockstatCollector } from '../../src/collectors/sockstat';
import { sysctlCollector } from '../../src/collectors/sysctl';
import { ScrapeSources } from '../../src/collectors/sources';
import { readSnmpFiles } from '../../src/procfs/netstat';
import { pageSize } from '../../src/procfs/sockstat';
import { readFile } from 'node:fs/promises';
import pino from 'pino';
import { PROMETHEUS_CONTENT_TYPE, render } from '../../src/http/exposition';
import { FIXTURES } from '../helpers/paths';

const PROCFS = path.join(FIXTURES, 'procfs');

function context(kernel: string): ScrapeContext {
  return scrapeContext(path.join(PROCFS, kernel));
}

async function scrape(definition: CollectorDefinition, ctx: ScrapeContext) {
  const families = await createCollector(definition).collect(ctx);
  const byName = new Map<string, MetricFamily>(families.map((f) => [f.name, f]));
  return { families, byName };
}

function sample(family: MetricFamily | undefined, group: string, field: string) {
  return family?.values.find((v) => v.labels?.group === group && v.labels?.field === field);
}

t.test('netstat: every field, kernel spelling, counters and gauges', async (t) => {
  const ctx = context('linux-6.18');
  const { families, byName } = await scrape(netstatCollector, ctx);
  t.same(
    families.map((f) => [f.name, f.type]),
    [
      ['sockdiag_netstat_total', 'counter'],
      ['sockdiag_netstat_value', 'gauge'],
    ],
    'one counter family and one gauge family: promtool-clean names',
  );
  const counters = byName.get('sockdiag_netstat_total');
  const gauges = byName.get('sockdiag_netstat_value');
  t.equal(counters?.values.filter((v) => v.labels?.group === 'TcpExt').length, 135);
  t.equal(counters?.values.filter((v) => v.labels?.group === 'Ip6').length, 33);
  t.equal(sample(counters, 'TcpExt', 'ListenOverflows')?.value, 15, 'kernel spelling kept');
  t.equal(sample(counters, 'Tcp', 'OutRsts')?.labels?.field, 'OutRsts');
  t.equal(sample(counters, 'Ip6', 'InReceives')?.value, 1, 'snmp6 fields split after the 6');
  t.same(gauges?.values.map((v) => `${v.labels?.group}.${v.labels?.field}`).sort(), [
    'Ip.DefaultTTL',
    'Ip.Forwarding',
    'MPTcpExt.MPCurrEstab',
    'Tcp.CurrEstab',
    'Tcp.MaxConn',
    'Tcp.RtoAlgorithm',
    'Tcp.RtoMax',
    'Tcp.RtoMin',
  ]);
  t.equal(sample(gauges, 'Tcp', 'MaxConn')?.value, -1);
  t.notOk(sample(counters, 'Tcp', 'CurrEstab'), 'a gauge is not also a counter');
  const keys = [...(counters?.values ?? []), ...(gauges?.values ?? [])].map(
    (v) => `${v.labels?.group}.${v.labels?.field}`,
  );
  t.equal(keys.length, new Set(keys).size, 'no field twice');
  const rendered = await render(families, PROMETHEUS_CONTENT_TYPE);
  t.match(
    rendered,
    /^sockdiag_netstat_total\{group="TcpExt",field="ListenOverflows"\} 15$/m,
    'grep ListenOverflows finds the value line',
  );
  t.match(rendered, /field="TCPTimeWaitOverflow"/);
});

t.test('netstat on an old kernel without IPv6', async (t) => {
  const { byName } = await scrape(netstatCollector, context('linux-3.10'));
  const counters = byName.get('sockdiag_netstat_total');
  t.equal(sample(counters, 'TcpExt', 'PAWSPassive')?.value, 42);
  t.notOk(sample(counters, 'TcpExt', 'TCPRcvQDrop'));
  t.notOk(
    counters?.values.some((v) => v.labels?.group === 'Ip6'),
    'no snmp6, no error',
  );
});

t.test("netstat narrowed to a namespace's counters: the rest neither kept nor read", async (t) => {
  const procfs = path.join(PROCFS, 'linux-6.18');
  const read: string[] = [];
  const reader = async (file: string) => {
    read.push(path.basename(file));
    return readFile(file, 'utf8');
  };
  const files = await readSnmpFiles(procfs, reader, { snmp6: false });
  t.same(read.sort(), ['netstat', 'snmp'], 'snmp6 not read');
  t.equal(files.snmp6, null, 'and reported as absent');
  const only = new Set(['TcpExt.ListenOverflows', 'Tcp.CurrEstab', 'Ip6.InReceives']);
  const sources = new ScrapeSources(
    {
      procfs,
      scan: { trackPeers: false, peersLimit: 0, tcpInfo: true, ghostIdleSeconds: 3600 },
      counters: only,
      reader: {
        snmpFiles: () => readSnmpFiles(procfs, reader, { snmp6: false }),
        sockstatFiles: () => Promise.reject(new Error('unused')),
        sysctls: () => Promise.reject(new Error('unused')),
        portRange: () => Promise.reject(new Error('unused')),
      },
    },
    false,
  );
  const families = await createCollector(netstatCollector).collect({
    log: pino({ level: 'silent' }),
    sources,
    now: Date.now(),
  });
  const served = families.flatMap((f) =>
    f.values.map((v) => `${v.labels?.group}.${v.labels?.field}`),
  );
  t.same(served.sort(), ['Tcp.CurrEstab', 'TcpExt.ListenOverflows'], 'only the asked-for counters');
  t.equal(sample(families[0], 'TcpExt', 'ListenOverflows')?.value, 15, 'with their values');
});

t.test('netstat fails loudly when procfs is wrong', async (t) => {
  await t.rejects(scrape(netstatCollector, context('no-such-kernel')), {
    code: 'ERR_PROCFS',
    path: /no-such-kernel\/net\/snmp$/,
    message: /--path\.procfs/,
  });
  await t.rejects(scrape(sockstatCollector, context('no-such-kernel')), {
    code: 'ERR_PROCFS',
    path: /no-such-kernel\/net\/sockstat$/,
  });
});

t.test('sockstat: gauges, mem in bytes, host-global caveat', async (t) => {
  const ctx = context('linux-6.18');
  const { families, byName } = await scrape(sockstatCollector, ctx);
  const bytesPerPage = await pageSize();
  t.ok(families.every((f) => f.type === 'gauge'));
  const value = (name: string) => byName.get(name)?.values[0]?.value;
  t.equal(value('sockdiag_sockstat_sockets_used'), 12);
  t.equal(value('sockdiag_sockstat_TCP_inuse'), 4);
  t.equal(value('sockdiag_sockstat_TCP_tw'), 37);
  t.equal(value('sockdiag_sockstat_TCP_orphan'), 2);
  t.equal(value('sockdiag_sockstat_TCP_alloc'), 9);
  t.equal(value('sockdiag_sockstat_TCP_mem_bytes'), 197 * bytesPerPage, 'pages to bytes');
  t.equal(value('sockdiag_sockstat_UDP_mem_bytes'), 3 * bytesPerPage);
  t.equal(value('sockdiag_sockstat_FRAG_memory_bytes'), 4352, 'already bytes');
  t.equal(value('sockdiag_sockstat_TCP6_inuse'), 0);
  t.equal(value('sockdiag_sockstat_FRAG6_memory_bytes'), 0);
  t.notOk(byName.has('sockdiag_sockstat_TCP_mem'), 'no unit-less duplicate');
  for (const name of ['TCP_alloc', 'TCP_orphan', 'TCP_mem_bytes']) {
    t.match(byName.get(`sockdiag_sockstat_${name}`)?.help, /host-global/, `${name} caveat`);
  }
  t.notMatch(byName.get('sockdiag_sockstat_TCP_tw')?.help, /host-global/);
  const files = await ctx.sources.sockstat;
  const tcp = (key: string) =>
    files.sockstat?.find((v) => v.protocol === 'TCP' && v.key === key)?.value;
  t.equal(tcp('tw'), 37);
  t.equal(tcp('mem'), 197, 'the source keeps pages, like tcp_mem');

  const old = await scrape(sockstatCollector, context('linux-3.10'));
  t.equal(old.byName.get('sockdiag_sockstat_TCP_tw')?.values[0]?.value, 6068);
  t.notOk(old.byName.has('sockdiag_sockstat_TCP6_inuse'), 'no sockstat6, no error');
});

t.test('sysctl: the fixed list, vectors split, absent ones omitted', async (t) => {
  const ctx = context('linux-6.18');
  const { families } = await scrape(sysctlCollector, ctx);
  t.equal(families.length, 1);
  const family = families[0];
  t.equal(family?.name, 'sockdiag_sysctl');
  t.equal(family?.type, 'gauge');
  const series = new Map(family?.values.map((v) => [String(v.labels?.name), v.value]));
  t.equal(series.get('net.core.somaxconn'), 4096);
  t.equal(series.get('net.ipv4.tcp_max_tw_buckets'), 131072);
  t.equal(series.get('net.ipv4.tcp_tw_reuse_delay'), 1000);
  t.equal(series.get('net.ipv4.ip_local_port_range.min'), 32768);
  t.equal(series.get('net.ipv4.ip_local_port_range.max'), 60999);
  t.equal(series.get('net.ipv4.tcp_rmem.default'), 131072);
  t.equal(series.get('net.ipv4.tcp_wmem.max'), 4194304);
  t.equal(series.get('net.ipv4.tcp_mem.pressure'), 383869);
  t.equal(series.get('net.core.rmem_max'), 4194304);
  t.notOk(series.has('net.ipv4.tcp_tw_recycle'), 'gone since 4.12');
  t.equal(series.size, 28, '17 scalars, port range split in 2, three memory vectors in 3');
  t.match(family?.help, /pages/);
  t.same(await ctx.sources.sysctls, series, 'the memoised source holds the same values');

  const old = await scrape(sysctlCollector, context('linux-3.10'));
  const oldSeries = new Map(old.families[0]?.values.map((v) => [String(v.labels?.name), v.value]));
  t.equal(oldSeries.get('net.ipv4.tcp_tw_recycle'), 1, 'still there on 3.10');
  t.equal(oldSeries.get('net.ipv4.ip_local_port_range.max'), 61000);
  t.notOk(oldSeries.has('net.ipv4.tcp_tw_reuse_delay'));
  t.notOk(oldSeries.has('net.ipv4.tcp_keepalive_time'), 'missing files are omitted silently');

  // None of its files: a failure (success 0), not a success with no series.
  await t.rejects(scrape(sysctlCollector, context('no-such-kernel')), {
    code: 'ERR_PROCFS',
    path: /no-such-kernel\/sys\/net$/,
    message: /none of the 22 sysctls exists: point --path\.procfs/,
  });
});

t.test('the families render as Prometheus text that grep finds', async (t) => {
  const ctx = context('linux-6.18');
  const families = [
    ...(await scrape(netstatCollector, ctx)).families,
    ...(await scrape(sockstatCollector, ctx)).families,
    ...(await scrape(sysctlCollector, ctx)).families,
  ];
  const text = await render(families, PROMETHEUS_CONTENT_TYPE);
  const lines = text.split('\n');
  t.ok(lines.includes('sockdiag_netstat_total{group="TcpExt",field="ListenOverflows"} 15'));
  t.ok(lines.includes('# TYPE sockdiag_netstat_total counter'));
  t.ok(lines.includes('sockdiag_netstat_total{group="TcpExt",field="TCPTimeWaitOverflow"} 900'));
  t.ok(lines.includes('sockdiag_netstat_value{group="Tcp",field="MaxConn"} -1'));
  t.ok(lines.includes('sockdiag_netstat_value{group="Tcp",field="CurrEstab"} 7'));
  t.ok(lines.includes('sockdiag_sockstat_TCP_tw 37'));
  t.ok(lines.includes('sockdiag_sysctl{name="net.ipv4.ip_local_port_range.max"} 60999'));
  t.ok(lines.includes('sockdiag_sysctl{name="net.ipv4.tcp_mem.pressure"} 383869'));
});
