// An exporter and a timed client inside one namespace, for the namespaces
// benchmark (lib/netns.js forks this through `nsenter --net=...`, so only
// the network namespace changes). Messages:
//   {start: {cli, args, port, logs}}  starts the exporter, waits until it answers
//   {scrape: {path}}                  one GET: {seconds, cpuSeconds, bytes, collectors, scraped}
//   {warmOwners: {limitS}}            GET /metrics once a second until every listener's
//                                     process is known (or limitS): {scrapes, seconds, listeners, unknown}
//   {stop: true}                      stops it
'use strict';

const {
  cpuSeconds,
  httpGet,
  memory,
  serveMessages,
  startServer,
  stopServer,
  waitForOwners,
} = require('./processes');

let server = null;
let port = 0;

function collectorDurations(body) {
  const durations = {};
  const pattern = /^sockdiag_scrape_collector_duration_seconds\{collector="([^"]+)"\} (\S+)$/gm;
  for (const match of body.matchAll(pattern)) durations[match[1]] = Number(match[2]);
  return durations;
}

serveMessages(async (message) => {
  if (message.start) {
    const { cli, args, logs, name } = message.start;
    port = message.start.port;
    server = await startServer(
      name,
      process.execPath,
      [cli, `--web.listen-address=127.0.0.1:${port}`, ...args],
      port,
      '/healthz',
      logs,
    );
    return { pid: server.pid, memory: memory(server.pid) };
  }
  if (message.scrape) {
    const before = cpuSeconds(server.pid);
    const response = await httpGet(port, message.scrape.path);
    if (response.status !== 200) {
      throw new Error(
        `GET ${message.scrape.path}: ${response.status} ${response.body.slice(0, 300)}`,
      );
    }
    const scraped = /^sockdiag_netns_namespaces\{state="scraped"\} (\d+)$/m.exec(response.body);
    const full = response.body.match(/^sockdiag_netns_tier\{netns="[^"]+",tier="full"\} 1$/gm);
    const failed = response.body.match(/^sockdiag_scrape_collector_success\{[^}]*\} 0$/gm);
    return {
      seconds: response.seconds,
      cpuSeconds: cpuSeconds(server.pid) - before,
      bytes: response.bytes,
      collectors: collectorDurations(response.body),
      scraped: scraped ? Number(scraped[1]) : null,
      fullTier: full ? full.length : 0,
      failed: failed ?? [],
      memory: memory(server.pid),
    };
  }
  if (message.warmOwners) {
    return waitForOwners(
      async () => (await httpGet(port, '/metrics')).body,
      message.warmOwners.limitS,
    );
  }
  if (message.stop) {
    if (server) await stopServer(server);
    server = null;
    return {};
  }
  throw new Error(`unknown message ${JSON.stringify(message)}`);
});
