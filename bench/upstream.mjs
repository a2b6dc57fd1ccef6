/**
 * The minimal upstream of the gateway benchmarks: `node bench/upstream.mjs PORT` responds to
 * every request on 127.0.0.1:PORT with the same small JSON body, so that the figures measure the
 * proxy in front of it rather than the module behind it.
 */
import { createServer } from 'node:http';

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error('usage: node bench/upstream.mjs PORT (1 to 65535)');
  process.exit(2);
}

const body = JSON.stringify({ ok: true, module: 'echo' });
const server = createServer((request, response) => {
  // The request body, if any, is read and discarded so the connection can be reused.
  request.resume();
  request.on('end', () => {
    response.writeHead(200, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
    });
    response.end(body);
  });
});
server.keepAliveTimeout = 65_000;
server.listen(port, '127.0.0.1', () => console.log(`upstream listening on 127.0.0.1:${port}`));

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    server.close();
    server.closeAllConnections();
  });
}
