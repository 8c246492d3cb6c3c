// procfs files that exist and hold what the kernel could not have printed:
// the collector that reads them fails (ERR_PROCFS, success 0) and says
// which file and what is wrong, instead of serving garbage or nothing as a
// success. Trees are copies of the 6.18 fixture with one file spoiled.
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { scratchDir } from '../helpers/paths';
import t from 'tap';
import type { CollectorDefinition, ScrapeContext } from '../../src/collectors/collector';
import { netstatCollector } from '../../src/collectors/netstat';
import { socketsCollector } from '../../src/collectors/sockets';
import { sockstatCollector } from '../../src/collectors/sockstat';
import type { ScrapeSources } from '../../src/collectors/sources';
import { sysctlCollector } from '../../src/collectors/sysctl';
import { readPortRange } from '../../src/procfs/sysctl';
import { TableScan } from '../../src/scan/table-scan';
import { createCollector, scrapeContext } from '../helpers/context';
import { fixtureBatch, loadFixture } from '../helpers/fixtures';
import { FIXTURES } from '../helpers/paths';

const root = mkdtempSync(path.join(scratchDir(), 'sockdiag-garbage-'));
t.teardown(() => rmSync(root, { recursive: true, force: true }));

/** A copy of the 6.18 tree with `file` replaced by `text` (a directory when text is null). */
function spoiled(file: string, text: string | null): string {
  const tree = mkdtempSync(path.join(root, 'tree-'));
  cpSync(path.join(FIXTURES, 'procfs', 'linux-6.18'), tree, { recursive: true });
  const target = path.join(tree, file);
  rmSync(target, { force: true });
  if (text === null) mkdirSync(target);
  else writeFileSync(target, text);
  return tree;
}

const collect = (definition: CollectorDefinition, procfs: string) =>
  createCollector(definition).collect(scrapeContext(procfs));

const PORT_RANGE = 'sys/net/ipv4/ip_local_port_range';

t.test('ip_local_port_range the kernel would refuse: the sysctl collector fails', async (t) => {
  for (const [text, why] of [
    ['70000\t10\n', /70000 is outside 1-65535/],
    ['0\t10\n', /0 is outside 1-65535/],
    ['61000\t32768\n', /the range 61000-32768 is reversed/],
    ['32768\n', /expected 2 integers, got "32768"/],
    ['low high\n', /expected 2 integers/],
  ] as const) {
    const tree = spoiled(PORT_RANGE, text);
    await t.rejects(
      collect(sysctlCollector, tree),
      { code: 'ERR_PROCFS', path: path.join(tree, PORT_RANGE), message: why },
      JSON.stringify(text),
    );
    t.same(
      await readPortRange(tree),
      { range: [32768, 60999], known: false },
      'unknown to the scan',
    );
  }
  t.same(await readPortRange(path.join(FIXTURES, 'procfs', 'linux-6.18')), {
    range: [32768, 60999],
    known: true,
  });
});

t.test('an unreadable sysctl fails the collector; the others stay in the source', async (t) => {
  const tree = spoiled(PORT_RANGE, null); // a directory: EISDIR, not absent
  await t.rejects(collect(sysctlCollector, tree), {
    code: 'ERR_PROCFS',
    message: /ip_local_port_range: cannot be read: EISDIR/,
  });
  const values = await scrapeContext(tree).sources.sysctls;
  t.equal(values.get('net.core.somaxconn'), 4096, 'sound files are still read');
  t.notOk(values.has('net.ipv4.ip_local_port_range.min'), 'the bad one is left out');
  t.equal(values.problems.length, 1);
  t.same(await readPortRange(tree), { range: [32768, 60999], known: false });
});

t.test('a range that is unknown is not reported as the kernel default', async (t) => {
  const fixture = loadFixture('tcp4-info-skmem.bin');
  const options = {
    procfs: '/proc',
    trackPeers: false,
    peersLimit: 10,
    tcpInfo: true,
    ghostIdleSeconds: 3600,
  };
  const scrape = async (known: boolean) => {
    const scan = new TableScan([32768, 60999], options, known);
    scan.add(fixtureBatch(fixture), 'tcp');
    const sources = { tableScan: Promise.resolve(scan) } as unknown as ScrapeSources;
    const context: ScrapeContext = { log: pino({ level: 'silent' }), sources, now: Date.now() };
    const families = await createCollector(socketsCollector).collect(context);
    return new Map(families.map((family) => [family.name, family.values]));
  };
  const known = await scrape(true);
  t.same(known.get('sockdiag_ephemeral_port_range_size'), [{ value: 28232 }]);
  const unknown = await scrape(false);
  t.same(unknown.get('sockdiag_ephemeral_port_range_size'), [], 'no size');
  t.same(unknown.get('sockdiag_ephemeral_ports_busiest_tuple_ratio'), [], 'no ratio');
  t.ok(unknown.get('sockdiag_ephemeral_ports_busiest_tuple_ports')?.length, 'the count stays');
});

t.test('other sysctls out of the range the kernel allows', async (t) => {
  for (const [file, text, why] of [
    ['sys/net/ipv4/tcp_syn_retries', '0\n', /0 is outside 1-127/],
    ['sys/net/core/somaxconn', '4294967296\n', /4294967296 is outside -2147483648-2147483647/],
    ['sys/net/ipv4/tcp_rmem', '0\t131072\t6291456\n', /0 is outside 1-/],
    ['sys/net/ipv4/tcp_mem', '-1\t2\t3\n', /-1 is outside 0-/],
  ] as const) {
    const tree = spoiled(file, text);
    await t.rejects(
      collect(sysctlCollector, tree),
      { code: 'ERR_PROCFS', path: path.join(tree, file), message: why },
      file,
    );
  }
});

t.test('netstat: a file with nothing that parses is a failure, not 0 series', async (t) => {
  for (const [file, text, why] of [
    ['net/netstat', 'garbage\nmore garbage\n', /holds no counter that parses/],
    ['net/netstat', '', /holds no counter that parses/],
    ['net/snmp', 'Tcp: RtoAlgorithm\nTcp: x\n', /holds no counter that parses/],
    ['net/snmp6', 'nonsense\n', /holds no counter that parses/],
    [
      'net/netstat',
      'TcpExt: ListenOverflows ListenDrops\nTcpExt: -5 3\n',
      /TcpExt\.ListenOverflows is -5/,
    ],
  ] as const) {
    const tree = spoiled(file, text);
    await t.rejects(
      collect(netstatCollector, tree),
      { code: 'ERR_PROCFS', path: path.join(tree, file), message: why },
      `${file} ${JSON.stringify(text)}`,
    );
  }
  const signed = spoiled('net/snmp', 'Tcp: MaxConn CurrEstab\nTcp: -1 4\n');
  const families = await collect(netstatCollector, signed);
  const gauges = families.find((family) => family.name === 'sockdiag_netstat_value');
  t.ok(
    gauges?.values.some((v) => v.labels?.field === 'MaxConn' && v.value === -1),
    'Tcp MaxConn is the one signed field',
  );
});

t.test('sockstat: nothing that parses, or a negative count, fails the collector', async (t) => {
  for (const [file, text, why] of [
    ['net/sockstat', 'junk\n', /holds no value that parses/],
    ['net/sockstat', 'sockets: used 12\nTCP: inuse -3 orphan 0\n', /TCP inuse is -3/],
    ['net/sockstat6', 'TCP6: inuse -1\n', /TCP6 inuse is -1/],
  ] as const) {
    const tree = spoiled(file, text);
    await t.rejects(
      collect(sockstatCollector, tree),
      { code: 'ERR_PROCFS', path: path.join(tree, file), message: why },
      `${file} ${JSON.stringify(text)}`,
    );
  }
});
