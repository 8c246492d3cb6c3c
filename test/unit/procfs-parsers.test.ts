// Pure procfs parsers on captured and hand-written text: a 6.18 capture, an
// old-kernel layout, and the malformed inputs a reader must survive.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { scratchDir } from '../helpers/paths';
import t from 'tap';
import {
  parseSnmp6,
  parseSnmpTable,
  readSnmpFiles,
  type SnmpCounter,
} from '../../src/procfs/netstat';
import { readOptional } from '../../src/procfs/read';
import { pageSize, parseSockstat, readSockstatFiles } from '../../src/procfs/sockstat';
import { parseSysctlValues, sysctlPath } from '../../src/procfs/sysctl';
import { FIXTURES } from '../helpers/paths';

const PROCFS = path.join(FIXTURES, 'procfs');
const fixture = (kernel: string, file: string) =>
  readFileSync(path.join(PROCFS, kernel, file), 'utf8');

function lookup(counters: SnmpCounter[]): Map<string, number> {
  return new Map(counters.map((c) => [`${c.prefix}.${c.field}`, c.value]));
}

t.test('netstat and snmp from a 6.18 capture', async (t) => {
  const netstat = parseSnmpTable(fixture('linux-6.18', 'net/netstat'));
  const byKey = lookup(netstat);
  t.equal(netstat.filter((c) => c.prefix === 'TcpExt').length, 135, 'all 135 TcpExt fields');
  t.equal(netstat.filter((c) => c.prefix === 'IpExt').length, 18, 'all 18 IpExt fields');
  t.equal(netstat.filter((c) => c.prefix === 'MPTcpExt').length, 76, 'all 76 MPTcpExt fields');
  t.equal(byKey.get('TcpExt.ListenOverflows'), 15);
  t.equal(byKey.get('TcpExt.ListenDrops'), 16);
  t.equal(byKey.get('TcpExt.TCPTimeWaitOverflow'), 900);
  t.equal(byKey.get('TcpExt.TW'), 100);
  t.equal(byKey.get('MPTcpExt.MPCurrEstab'), 3);
  t.equal(byKey.get('IpExt.InOctets'), 2 ** 64, 'a u64 beyond 2^53 parses, rounded');
  t.notOk(byKey.has('TcpExt.PAWSPassive'), 'PAWSPassive is gone on 6.x');

  const snmp = lookup(parseSnmpTable(fixture('linux-6.18', 'net/snmp')));
  t.equal(snmp.get('Tcp.MaxConn'), -1, 'the one negative value');
  t.equal(snmp.get('Tcp.CurrEstab'), 7);
  t.equal(snmp.get('Tcp.OutRsts'), 102);
  t.equal(snmp.get('Udp.InDatagrams'), 67);
  t.equal(snmp.get('Ip.OutTransmits'), 4268, 'the 20th Ip field, newer than most parsers');
  t.equal(snmp.get('IcmpMsg.InType3'), 1, 'IcmpMsg: names that vary by traffic');
  t.ok(snmp.has('UdpLite.MemErrors'));
});

t.test('an old kernel: fields found by name, not position', async (t) => {
  const byKey = lookup(parseSnmpTable(fixture('linux-3.10', 'net/netstat')));
  t.equal(byKey.get('TcpExt.PAWSPassive'), 42, 'PAWSPassive still exists before 4.12');
  // PAWSPassive shifts every later field by one against a 6.x layout.
  t.equal(byKey.get('TcpExt.ListenOverflows'), 7);
  t.equal(byKey.get('TcpExt.ListenDrops'), 9);
  t.equal(byKey.get('TcpExt.TW'), 6068);
  t.equal(byKey.get('TcpExt.TWRecycled'), 5);
  t.equal(byKey.get('TcpExt.TCPTimeWaitOverflow'), 11);
  t.notOk(byKey.has('TcpExt.TCPRcvQDrop'), 'fields newer than the kernel are absent');
  t.notOk(byKey.has('TcpExt.TCPFastOpenBlackhole'));
  t.notOk(
    [...byKey.keys()].some((k) => k.startsWith('MPTcpExt.')),
    'no MPTCP before 5.6',
  );
  const snmp = lookup(parseSnmpTable(fixture('linux-3.10', 'net/snmp')));
  t.equal(snmp.get('Udp.InCsumErrors'), 0);
  t.notOk(snmp.has('Udp.IgnoredMulti'));
  t.equal(snmp.get('Tcp.EstabResets'), 87);
});

t.test('reordered fields keep their values', async (t) => {
  const text = 'TcpExt: ListenDrops TW ListenOverflows\nTcpExt: 3 2 1\n';
  t.same(parseSnmpTable(text), [
    { prefix: 'TcpExt', field: 'ListenDrops', value: 3 },
    { prefix: 'TcpExt', field: 'TW', value: 2 },
    { prefix: 'TcpExt', field: 'ListenOverflows', value: 1 },
  ]);
});

t.test('malformed snmp tables are skipped field-wise', async (t) => {
  const short = parseSnmpTable('Tcp: A B C D\nTcp: 1 2\nUdp: X\nUdp: 9\n');
  t.same(
    short.map((c) => `${c.prefix}.${c.field}=${c.value}`),
    ['Tcp.A=1', 'Tcp.B=2', 'Udp.X=9'],
    'a truncated value line keeps its leading fields, the next group still parses',
  );
  const long = parseSnmpTable('Ip: A B\nIp: 1 2 3 4\n');
  t.same(
    long.map((c) => c.field),
    ['A', 'B'],
    'extra values without names are dropped',
  );
  const junk = parseSnmpTable(
    [
      'garbage without colon',
      'TcpExt: A B C',
      'TcpExt: 1 x -3',
      ': 1 2',
      'Bad-Prefix: A',
      'Bad-Prefix: 1',
      'Icmp: A B',
      'not a value line',
      'Icmp: 1 2',
      'Udp: 1 2',
      'Udp: 3 4',
      'Tcp: A',
      'Ip: A',
      'Ip: 5',
      '',
    ].join('\n'),
  );
  t.same(
    junk.map((c) => `${c.prefix}.${c.field}=${c.value}`),
    ['TcpExt.A=1', 'TcpExt.C=-3', 'Ip.A=5'],
    'junk tokens, bad prefixes, orphan headers and numeric "headers" are skipped',
  );
  t.same(parseSnmpTable(''), []);
  t.same(parseSnmpTable('\n\n\n'), []);
});

t.test('snmp6: prefix is the letters up to the 6', async (t) => {
  const counters = parseSnmp6(fixture('linux-6.18', 'net/snmp6'));
  const byKey = lookup(counters);
  t.equal(counters.length, 90, 'every line of the capture');
  t.same([...new Set(counters.map((c) => c.prefix))].sort(), ['Icmp6', 'Ip6', 'Udp6', 'UdpLite6']);
  t.equal(byKey.get('Ip6.InReceives'), 1);
  t.equal(byKey.get('Ip6.OutRequests'), 10);
  t.ok(byKey.has('Icmp6.OutType135'), 'trailing digits stay in the field');
  t.ok(byKey.has('UdpLite6.InDatagrams'));
  const odd = parseSnmp6(
    'Ip6InReceives 5\nIcmp6InType133\t-2\nIp6 7\nIp6Foo bar\nNoDigitField 1\nIp6A 1 2\n\n',
  );
  t.same(odd, [
    { prefix: 'Ip6', field: 'InReceives', value: 5 },
    { prefix: 'Icmp6', field: 'InType133', value: -2 },
  ]);
});

t.test('sockstat with and without TCP6', async (t) => {
  const v4 = parseSockstat(fixture('linux-6.18', 'net/sockstat'));
  t.same(
    v4.map((v) => `${v.protocol}.${v.key}=${v.value}`),
    [
      'sockets.used=12',
      'TCP.inuse=4',
      'TCP.orphan=2',
      'TCP.tw=37',
      'TCP.alloc=9',
      'TCP.mem=197',
      'UDP.inuse=1',
      'UDP.mem=3',
      'UDPLITE.inuse=0',
      'RAW.inuse=0',
      'FRAG.inuse=1',
      'FRAG.memory=4352',
    ],
  );
  const v6 = parseSockstat(fixture('linux-6.18', 'net/sockstat6'));
  t.same(
    v6.map((v) => `${v.protocol}.${v.key}`),
    ['TCP6.inuse', 'UDP6.inuse', 'UDPLITE6.inuse', 'RAW6.inuse', 'FRAG6.inuse', 'FRAG6.memory'],
  );
  t.same(
    parseSockstat('TCP: inuse 4 orphan x tw 3 alloc\nnonsense\nUDP inuse 1\n: inuse 2\n'),
    [
      { protocol: 'TCP', key: 'inuse', value: 4 },
      { protocol: 'TCP', key: 'tw', value: 3 },
    ],
    'a bad pair or a dangling key costs only itself',
  );
});

t.test('sysctl values', async (t) => {
  t.same(parseSysctlValues('4096\t131072\t33554432\n', 3), [4096, 131072, 33554432]);
  t.same(parseSysctlValues('32768\t60999\n', 2), [32768, 60999]);
  t.same(parseSysctlValues('-1\n', 1), [-1]);
  t.equal(parseSysctlValues('4096\t16384\n', 3), null, 'a short vector is not misfiled');
  t.equal(parseSysctlValues('1 2\n', 1), null);
  t.equal(parseSysctlValues('bbr\n', 1), null);
  t.equal(parseSysctlValues('', 1), null);
  t.equal(sysctlPath('/proc', 'net.ipv4.tcp_mem'), '/proc/sys/net/ipv4/tcp_mem');
});

t.test('missing files are absent, not errors', async (t) => {
  const old = await readSnmpFiles(path.join(PROCFS, 'linux-3.10'));
  t.ok(old.netstat && old.netstat.length > 100);
  t.ok(old.snmp && old.snmp.length > 50);
  t.equal(old.snmp6, null, 'IPv6 disabled: no snmp6');
  const sockstat = await readSockstatFiles(path.join(PROCFS, 'linux-3.10'));
  t.equal(sockstat.sockstat?.find((v) => v.key === 'tw')?.value, 6068);
  t.equal(sockstat.sockstat6, null, 'IPv6 disabled: no sockstat6');
  const nowhere = await readSnmpFiles(path.join(FIXTURES, 'no-such-kernel'));
  t.same(nowhere, { netstat: null, snmp: null, snmp6: null, problems: [] });
  t.equal(await readOptional(path.join(FIXTURES, 'linux-6.18', 'net', 'netstat', 'x')), null);

  const dir = mkdtempSync(path.join(scratchDir(), 'sockdiag-procfs-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  await t.rejects(readOptional(dir), { code: 'EISDIR' }, 'other errors still surface');
});

t.test('page size comes from getconf', async (t) => {
  const size = await pageSize();
  t.ok(
    Number.isInteger(size) && size >= 4096 && (size & (size - 1)) === 0,
    `power of two: ${size}`,
  );
  t.equal(await pageSize(), size, 'cached');
});

t.test('parseSnmpTable with groups: only theirs, the same as unfiltered', async (t) => {
  const text = [
    'Ip: Forwarding DefaultTTL',
    'Ip: 1 64',
    'Tcp: RtoAlgorithm ActiveOpens',
    'Tcp: 1 7',
    'Udp: InDatagrams',
    'Udp: 3',
    'TcpExt: ListenOverflows',
    'TcpExt: 15',
    '',
  ].join('\n');
  const groups = new Set(['Tcp', 'TcpExt']);
  const all = parseSnmpTable(text).filter((c) => groups.has(c.prefix));
  t.same(parseSnmpTable(text, groups), all, 'same counters, values and order');
  t.same(
    parseSnmpTable(text, groups).map((c) => `${c.prefix}.${c.field}=${c.value}`),
    ['Tcp.RtoAlgorithm=1', 'Tcp.ActiveOpens=7', 'TcpExt.ListenOverflows=15'],
  );
  t.same(
    parseSnmpTable('Tcp: ActiveOpens\nUdp: 3\nTcp: 7\n', groups),
    [],
    'a skipped line between a header and its values breaks the pair',
  );
});
