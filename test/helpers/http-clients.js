// Hostile and measuring HTTP clients for the hardening tests, run inside a
// test namespace next to the exporter (`node http-clients.js MODE PORT [options
// as JSON]`). Each mode is bounded (connections, requests, seconds) and
// prints one JSON line with what it measured, then exits.
//
//   pipeline  N connections each write R pipelined requests and never read
//             the answers; meanwhile /healthz is timed on a fresh connection
//   flood     N connections send requests with wrong basic-auth passwords in
//             a loop while one authorised client's latencies are measured
//   hold      idle connections (nothing sent), partial ones (half a request
//             line) and kept ones (one request answered, then kept alive);
//             holds them until stdin closes or the server closes them all
//   concurrent N requests at once (e.g. 256 gzip scrapes), statuses counted
//   fill      opens connections until the server stops accepting or the
//             limit is reached; holds them until stdin closes
const net = require('node:net');
const http = require('node:http');

const [mode, portText, optionsText] = process.argv.slice(2);
const port = Number(portText);
const options = JSON.parse(optionsText ?? '{}');
const host = options.host ?? '127.0.0.1';
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function request(path, headers = {}, agent = false) {
  return new Promise((resolve) => {
    const started = process.hrtime.bigint();
    const req = http.get({ host, port, path, headers, agent, timeout: 30000 }, (res) => {
      let bytes = 0;
      res.on('data', (chunk) => {
        bytes += chunk.length;
      });
      res.on('end', () =>
        resolve({
          status: res.statusCode,
          bytes,
          ms: Number(process.hrtime.bigint() - started) / 1e6,
          headers: res.headers,
        }),
      );
      res.on('error', () => resolve({ status: 0, ms: Infinity }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (error) =>
      resolve({ status: 0, error: error.code ?? String(error), ms: Infinity }),
    );
  });
}

function connect() {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.once('connect', () => resolve(socket));
    socket.once('error', (error) => resolve({ error: error.code ?? String(error) }));
  });
}

function untilStdinCloses() {
  return new Promise((resolve) => {
    process.stdin.on('data', () => {});
    process.stdin.on('end', resolve);
    process.stdin.on('close', resolve);
  });
}

async function pipeline() {
  const { connections = 100, requests = 200, path = '/metrics', seconds = 5 } = options;
  const line = `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nAccept-Encoding: ${options.encoding ?? 'identity'}\r\n\r\n`;
  const sockets = [];
  for (let i = 0; i < connections; i++) {
    const socket = await connect();
    if (socket.error) continue;
    socket.pause(); // never read: the replies pile up on the server's side
    socket.on('error', () => {});
    socket.write(line.repeat(requests));
    sockets.push(socket);
  }
  process.stdout.write(`${JSON.stringify({ attacking: sockets.length })}\n`);
  const healthz = [];
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    healthz.push(await request('/healthz'));
    await sleep(100);
  }
  const closedByServer = sockets.filter((s) => s.destroyed || s.readyState !== 'open').length;
  for (const socket of sockets) socket.destroy();
  const times = healthz.map((r) => r.ms);
  return {
    connections: sockets.length,
    closedByServer,
    healthz: healthz.length,
    healthzOk: healthz.filter((r) => r.status === 200).length,
    healthzMaxMs: Math.max(...times),
    healthzMs: options.verbose ? times.map(Math.round) : undefined,
  };
}

const basic = (user, password) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

async function flood() {
  const { connections = 32, seconds = 3, user, password, path = '/healthz' } = options;
  let stop = false;
  let attempts = 0;
  const statuses = {};
  const floodOne = async (n) => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    for (let i = 0; !stop; i++) {
      const r = await request(path, { authorization: basic(user, `wrong-${n}-${i}`) }, agent);
      attempts++;
      statuses[r.status] = (statuses[r.status] ?? 0) + 1;
    }
    agent.destroy();
  };
  // The authorised client was scraping before the flood began, as Prometheus
  // would be: its credentials are checked once and cached. (A first check
  // made during the flood waits behind every queued compare: 32 of them took
  // 4.5 s on a slow day, longer than the whole window.)
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const primed = await request(path, { authorization: basic(user, password) }, agent);
  const floods = Array.from({ length: connections }, (_, n) => floodOne(n));
  await sleep(300); // let the flood build up
  const latencies = [];
  const goodStatuses = {};
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    const r = await request(path, { authorization: basic(user, password) }, agent);
    goodStatuses[r.status] = (goodStatuses[r.status] ?? 0) + 1;
    latencies.push(r.ms);
    await sleep(50);
  }
  stop = true;
  await Promise.all(floods);
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return {
    primedStatus: primed.status,
    attempts,
    statuses,
    goodStatuses,
    samples: latencies.length,
    p50: latencies[latencies.length >> 1],
    p90: latencies[Math.floor(latencies.length * 0.9)],
  };
}

/** A connection that has had one request answered and stays open (keep-alive). */
function keptAlive() {
  return new Promise((resolve) => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const req = http.get({ host, port, path: '/healthz', agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(req.socket));
    });
    req.on('error', () => resolve(undefined));
  });
}

async function hold() {
  const { idle = 10, partial = 10, kept = 10 } = options;
  const sockets = [];
  for (let i = 0; i < idle + partial; i++) {
    const socket = await connect();
    if (socket.error) continue;
    // Half a request line: the server has no complete request to answer.
    if (i >= idle) socket.write('GET /metr');
    sockets.push(socket);
  }
  for (let i = 0; i < kept; i++) {
    const socket = await keptAlive();
    if (socket) sockets.push(socket);
  }
  for (const socket of sockets) socket.on('error', () => {});
  let closed = 0;
  const allClosed = new Promise((resolve) => {
    for (const socket of sockets) {
      socket.on('close', () => {
        if (++closed === sockets.length) resolve();
      });
    }
  });
  process.stdout.write(`${JSON.stringify({ held: sockets.length })}\n`);
  const started = Date.now();
  await Promise.race([allClosed, untilStdinCloses()]);
  const result = { held: sockets.length, closedByServer: closed, ms: Date.now() - started };
  for (const socket of sockets) socket.destroy();
  return result;
}

async function concurrent() {
  const { count = 256, path = '/metrics', encoding = 'gzip' } = options;
  const results = await Promise.all(
    Array.from({ length: count }, () => request(path, { 'accept-encoding': encoding })),
  );
  const statuses = {};
  for (const r of results) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
  return { statuses, maxMs: Math.max(...results.map((r) => r.ms)) };
}

async function fill() {
  const { limit = 100 } = options;
  const sockets = [];
  let refused = 0;
  for (let i = 0; i < limit; i++) {
    const socket = await connect();
    if (socket.error) {
      refused++;
      continue;
    }
    socket.on('error', () => {});
    sockets.push(socket);
  }
  await sleep(200);
  const open = sockets.filter((s) => !s.destroyed && s.readyState === 'open').length;
  process.stdout.write(`${JSON.stringify({ opened: sockets.length, open, refused })}\n`);
  await untilStdinCloses();
  for (const socket of sockets) socket.destroy();
  return { done: true };
}

const MODES = { pipeline, flood, hold, concurrent, fill };
MODES[mode]().then(
  (result) => {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    process.exit(0);
  },
  (error) => {
    process.stderr.write(`${error.stack}\n`);
    process.exit(3);
  },
);
