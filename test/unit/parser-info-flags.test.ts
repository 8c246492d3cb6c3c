// tcp_info's option bits, probes and backoff: from recorded bytes against
// what ss -i printed (ts, sack, wscale, ecn; backoff:N), and from built
// bytes at the field offsets, including a payload too short to hold them.
import t from 'tap';
import { addon } from '../../src/diag/native';
import { SocketBatch } from '../../src/diag/socket-batch';
import { fixtureBatch, loadFixture } from '../helpers/fixtures';
import { ATTR, attribute, concat, done, row, tcpInfo } from '../helpers/nlbuild';
import { parseSs } from '../helpers/ss';

for (const name of ['tcp4-info-skmem.bin', 'tcp6-info-skmem.bin']) {
  t.test(`${name}: option bits as ss -i names them`, async (t) => {
    const fixture = loadFixture(name);
    const batch = fixtureBatch(fixture);
    const lines = fixture.meta.ss.split('\n').filter((line) => /\S/.test(line));
    // ss prints each socket as a line and its details on the next, indented.
    const details = new Map<string, string>();
    for (let i = 0; i + 1 < lines.length; i += 2) {
      const [parsed] = parseSs(lines[i]!);
      details.set(`${parsed!.localPort}>${parsed!.peerPort}`, lines[i + 1]!);
    }
    let checked = 0;
    for (let i = 0; i < batch.count; i++) {
      const c = batch.columns;
      if (batch.stateName(i) !== 'established') continue;
      const text = details.get(`${c.localPort[i]}>${c.remotePort[i]}`);
      if (text === undefined) continue;
      const words = new Set(
        text
          .trim()
          .split(/\s+/)
          .map((word) => word.split(':')[0]),
      );
      const bits = c.infoOptions![i]!;
      t.equal((bits & 1) !== 0, words.has('ts'), `row ${i}: timestamps`);
      t.equal((bits & 2) !== 0, words.has('sack'), `row ${i}: sack`);
      t.equal((bits & 4) !== 0, words.has('wscale'), `row ${i}: window scaling`);
      t.equal((bits & 8) !== 0, words.has('ecn'), `row ${i}: ecn`);
      const backoff = /backoff:(\d+)/.exec(text)?.[1];
      t.equal(c.backoff![i], Number(backoff ?? 0), `row ${i}: backoff`);
      checked++;
    }
    t.ok(checked >= 2, `${checked} ESTABLISHED rows compared`);
  });
}

t.test('built bytes: the fields at their offsets; a short tcp_info gives 0', async (t) => {
  const seq = 11;
  const full = attribute(ATTR.info, tcpInfo(232, { probes: 3, backoff: 5, infoOptions: 0x07 }));
  const short = attribute(ATTR.info, tcpInfo(3, {})); // ends before probes
  const bytes = concat(
    row(seq, { state: 1 }, [full]),
    row(seq, { state: 1, sport: 8081 }, [short]),
    done(seq),
  );
  const result = addon.parse(bytes, {
    family: 2,
    protocol: 6,
    states: 0xfff,
    extensions: 0x02,
    groups: 1,
    batchRows: 8,
    timeoutMs: 1000,
    legacy: false,
    seq,
  });
  t.equal(result.status, 'done');
  const batch = new SocketBatch(result.count, result.columns);
  const c = batch.columns;
  t.same([c.probes![0], c.backoff![0], c.infoOptions![0]], [3, 5, 7]);
  t.same([c.probes![1], c.backoff![1], c.infoOptions![1]], [0, 0, 0]);
  t.ok(batch.infoCovers(0, 'infoOptions'));
  t.notOk(batch.infoCovers(1, 'probes'), 'a 4-byte tcp_info does not reach probes');
});
