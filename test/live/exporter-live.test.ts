// The exporter in a namespace whose socket table this test builds, scraped
// over HTTP and checked against ss (the golden file: test/e2e/golden.test.ts).
import t from 'tap';
import { unavailable } from '../helpers/requirements';
import { parseMetrics, startExporter } from '../helpers/exporter';
import { testNamespace } from '../helpers/namespaces';
import { normaliseAddress, parseSs } from '../helpers/ss';
import { exporterOverTable } from '../helpers/tables';

const SS_STATE_NAMES: Record<string, string> = {
  established: 'established',
  syn_sent: 'syn-sent',
  syn_recv: 'syn-recv',
  fin_wait1: 'fin-wait-1',
  fin_wait2: 'fin-wait-2',
  time_wait: 'time-wait',
  close_wait: 'close-wait',
  last_ack: 'last-ack',
  listen: 'listening',
  closing: 'closing',
};

const EXCLUDE_EXPORTER = ['not sport = :19561 and not dport = :19561'];
/** What the exporter and its first scrape add to the table. */
const OWN_SOCKETS: Record<string, number> = { established: 2, listen: 1 };

const skip = unavailable('namespaces');

t.test('exporter in a namespace', { skip }, async (t) => {
  const { ns, exporter, body } = await exporterOverTable(t);
  const metrics = parseMetrics(body);

  t.test('socket counts per state equal ss -tan state', async (t) => {
    for (const [state, ssName] of Object.entries(SS_STATE_NAMES)) {
      for (const [family, flag] of [
        ['inet', '-4'],
        ['inet6', '-6'],
      ] as const) {
        // With a state filter ss drops its State column: count lines. The
        // exporter's own listener and the scrape's connection (client and
        // server, both ESTABLISHED while the dump ran) are not in ss's view.
        const ss = ns
          .run('ss', ['-Htan', flag, 'state', ssName, ...EXCLUDE_EXPORTER])
          .split('\n')
          .filter((line) => line.trim() !== '').length;
        const own = family === 'inet' ? (OWN_SOCKETS[state] ?? 0) : 0;
        const ours = metrics.get(
          `sockdiag_sockets{protocol="tcp",family="${family}",state="${state}"}`,
        );
        t.equal(ours, ss + own, `${family} ${state}`);
      }
    }
    t.equal(metrics.get('sockdiag_sockets{protocol="tcp",family="inet",state="time_wait"}'), 5);
  });

  t.test('listener queues equal ss -ltn', async (t) => {
    const ss = parseSs(ns.run('ss', ['-Hltn', ...EXCLUDE_EXPORTER]));
    t.equal(ss.length, 3, 'three listeners besides the exporter');
    for (const row of ss) {
      const family = row.local.includes(':') ? 'inet6' : 'inet';
      const address = row.local === '*' ? (family === 'inet' ? '0.0.0.0' : '::') : row.local;
      const labels = `{family="${family}",address="${address}",port="${row.localPort}"}`;
      t.equal(
        metrics.get(`sockdiag_listener_accept_queue_length${labels}`),
        row.recvQ,
        `${labels} Recv-Q`,
      );
      t.equal(
        metrics.get(`sockdiag_listener_accept_queue_limit${labels}`),
        row.sendQ,
        `${labels} Send-Q`,
      );
    }
    t.equal(
      metrics.get(
        'sockdiag_listener_accept_queue_length{family="inet",address="127.0.0.1",port="8080"}',
      ),
      1,
      'one connection waits for accept()',
    );
    t.equal(normaliseAddress('[::]'), '*');
  });

  t.test('service ports and timers', async (t) => {
    t.equal(metrics.get('sockdiag_service_sockets{port="8080",state="established"}'), 4);
    t.equal(metrics.get('sockdiag_service_sockets{port="9000",state="established"}'), 2);
    t.equal(metrics.get('sockdiag_tcp_timer_sockets{state="established",timer="keepalive"}'), 2);
    t.equal(metrics.get('sockdiag_tcp_timer_sockets{state="time_wait",timer="time_wait"}'), 5);
    t.equal(metrics.get('sockdiag_scrape_collector_success{collector="sockets"}'), 1);
    t.notOk(body.includes('sockdiag_peer_sockets'), 'peers (addresses) are off by default');
  });

  t.test('OpenMetrics and collect[]', async (t) => {
    const open = exporter.get('/metrics?collect[]=listeners', {
      Accept: 'application/openmetrics-text; version=1.0.0',
    });
    t.equal(open.status, 200);
    t.match(open.body, /# EOF\n$/);
    t.match(open.body, /sockdiag_listener_drops_total\{/);
    t.notMatch(open.body, /sockdiag_sockets\{/, 'only the listeners collector ran');
    t.notMatch(open.body, /sockdiag_listener_half_open_sockets/, 'no half-open without sockets');
  });
});

t.test(
  'peers collector: top peers per state and the busiest tuple, against ss',
  { skip },
  async (t) => {
    const { ns, holder, stopFirst } = testNamespace(t);
    await holder.send({ op: 'listen', host: '127.0.0.2', port: 9000 });
    await holder.send({ op: 'connect', host: '127.0.0.2', port: 9000, count: 5 });
    await holder.send({ op: 'listen', host: '127.0.0.3', port: 9001 });
    await holder.send({ op: 'connect', host: '127.0.0.3', port: 9001, count: 3 });
    const exporter = await startExporter(ns, ['--collector.peers', '--collector.peers.limit=2']);
    stopFirst(exporter);
    const metrics = parseMetrics(exporter.get('/metrics').body);
    const count = (filter: string) =>
      ns
        .run('ss', ['-Htn', 'state', 'established', ...filter.split(' ')])
        .split('\n')
        .filter((line) => line.trim() !== '').length;
    const top = [...metrics].filter(([name]) =>
      name.startsWith('sockdiag_peer_sockets{state="established"'),
    );
    // Server sides count their client (127.0.0.1) as peer; the scrape's own
    // connection adds two sockets toward 127.0.0.1 that ss, run after it, no
    // longer sees. The limit keeps the top two; 127.0.0.3 (3) is cut.
    t.same(top, [
      ['sockdiag_peer_sockets{state="established",peer="127.0.0.1"}', count('dst 127.0.0.1') + 2],
      ['sockdiag_peer_sockets{state="established",peer="127.0.0.2"}', count('dst 127.0.0.2')],
    ]);
    t.equal(count('dst 127.0.0.2'), 5, 'ss agrees: five connections toward 127.0.0.2');
    t.equal(
      metrics.get(
        'sockdiag_ephemeral_ports_busiest_tuple{local_address="127.0.0.1",peer="127.0.0.2",peer_port="9000"}',
      ),
      5,
      'the busiest ephemeral tuple, named',
    );
    t.equal(metrics.get('sockdiag_ephemeral_ports_busiest_tuple_ports'), 5);
  },
);
