// COUNT loopback connections in this process's namespace (2 x COUNT
// sockets and a listener): enough rows that a dump runs past its first
// datagrams. For the plain-JavaScript helpers run by node directly
// (addon-exercise.js, worker-teardown.js). close() ends them all.
const net = require('node:net');

async function openConnections(count) {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', 1024, resolve));
  const clients = [];
  for (let i = 0; i < count; i++) {
    const client = net.connect(server.address().port, '127.0.0.1');
    await new Promise((resolve) => client.on('connect', resolve));
    clients.push(client);
  }
  return {
    async close() {
      for (const client of clients) client.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

module.exports = { openConnections };
