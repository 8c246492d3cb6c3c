// A week of scrapes in miniature: 800 full collections (every collector,
// peers included) against a live table. Memory is measured after forced GCs
// at rounds 100, 400 and 800: the JS heap and external memory must not grow
// from the first sample, RSS (which includes the allocator settling in) not
// from the second.
import path from 'node:path';
import t from 'tap';
import { netnsUnavailable, testNamespace } from './helpers/netns';

const reason = netnsUnavailable();
if (reason) {
  t.plan(0, reason);
} else {
  t.test('memory stays flat over 800 scrapes', async (t) => {
    const { ns, holder } = testNamespace(t);
    const listener = await holder.send({ op: 'listen', port: 8080, backlog: 64 });
    await holder.send({ op: 'connect', host: '127.0.0.1', port: 8080, count: 50 });
    await holder.send({ op: 'accept', id: listener.id, count: 40 });
    await holder.send({ op: 'timewait', count: 30 });
    const output = ns.run(process.execPath, [
      '--expose-gc',
      path.join(__dirname, 'helpers', 'soak.js'),
      '800',
    ]);
    const [early, middle, late] = JSON.parse(output) as {
      round: number;
      heapUsed: number;
      external: number;
      rss: number;
    }[];
    t.ok(early && middle && late, 'three samples');
    const MiB = 1024 * 1024;
    const heapGrowth = (late!.heapUsed - early!.heapUsed) / MiB;
    const externalGrowth = (late!.external - early!.external) / MiB;
    t.comment(`heap ${(early!.heapUsed / MiB).toFixed(1)} -> ${(late!.heapUsed / MiB).toFixed(1)} MiB, external ${(early!.external / MiB).toFixed(1)} -> ${(late!.external / MiB).toFixed(1)} MiB, rss ${(early!.rss / MiB).toFixed(0)} -> ${(middle!.rss / MiB).toFixed(0)} -> ${(late!.rss / MiB).toFixed(0)} MiB`);
    const rssGrowth = (late!.rss - middle!.rss) / MiB;
    t.ok(heapGrowth < 2, `JS heap grew ${heapGrowth.toFixed(2)} MiB over 700 scrapes`);
    t.ok(externalGrowth < 2, `external memory grew ${externalGrowth.toFixed(2)} MiB`);
    t.ok(rssGrowth < 8, `RSS grew ${rssGrowth.toFixed(1)} MiB over the last 400 scrapes`);
  });
}
