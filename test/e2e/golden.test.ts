// The whole /metrics of an exporter over a known table, against the golden
// file (families whose values depend on time, traffic or the host left out),
// and promtool's lint of the same body. UPDATE_GOLDEN=1 rewrites the file.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { GOLDEN } from '../helpers/paths';
import { unavailable } from '../helpers/requirements';
import { exporterOverTable } from '../helpers/tables';

const GOLDEN_METRICS = path.join(GOLDEN, 'metrics.txt');

/** Families whose values depend on time, traffic or the host, not on the table. */
const VOLATILE = [
  /^(# (HELP|TYPE) )?(process_|nodejs_)/,
  /^(# (HELP|TYPE) )?sockdiag_(netstat|sockstat|sysctl)_?/,
  /^sockdiag_scrape_collector_duration_seconds/,
  /^sockdiag_tcp_(rtt|idle)_seconds_(bucket|sum|count)/,
  /^sockdiag_socket_memory_bytes/,
  // Owners name the test runner's own cgroup and processes: test/live/owners-live.test.ts.
  /^sockdiag_(listener_owner_info|cgroup_sockets)\{/,
  // Evidence includes sysctls whose defaults scale with the host (tcp_max_syn_backlog).
  /^sockdiag_incident_evidence\{/,
];

function goldenView(body: string): string {
  return `${body
    .split('\n')
    .filter((line) => line !== '' && !VOLATILE.some((pattern) => pattern.test(line)))
    .join('\n')}\n`;
}

t.test('golden /metrics', { skip: unavailable('namespaces') }, async (t) => {
  const { body } = await exporterOverTable(t);

  t.test('equals test/golden/metrics.txt', async (t) => {
    const view = goldenView(body);
    if (process.env.UPDATE_GOLDEN === '1' || !existsSync(GOLDEN_METRICS)) {
      writeFileSync(GOLDEN_METRICS, view);
      t.comment(`wrote ${GOLDEN_METRICS}`);
    }
    t.equal(view, readFileSync(GOLDEN_METRICS, 'utf8'), 'scrape equals test/golden/metrics.txt');
  });

  t.test('promtool check metrics', { skip: unavailable('promtool') }, async (t) => {
    let findings = '';
    try {
      execFileSync('promtool', ['check', 'metrics'], { input: body, stdio: 'pipe' });
    } catch (error) {
      const { stdout, stderr } = error as { stdout: Buffer; stderr: Buffer };
      findings = `${stdout}${stderr}`.slice(0, 2000);
    }
    t.equal(findings, '', 'promtool finds nothing to complain about');
  });
});
