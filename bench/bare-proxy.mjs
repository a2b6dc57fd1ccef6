/**
 * The floor of the gateway benchmark: `node bench/bare-proxy.mjs PORT UPSTREAM_URL` serves a
 * Fastify 5 proxy on 127.0.0.1:PORT that forwards `/echo/*` to UPSTREAM_URL with
 * @fastify/http-proxy (undici underneath, as in Gatepass), with no authentication, no logging
 * and no rate limit. Gatepass cannot be faster than this on the same machine.
 */
import proxy from '@fastify/http-proxy';
import Fastify from 'fastify';

const port = Number(process.argv[2]);
const upstream = process.argv[3];
if (!Number.isInteger(port) || port <= 0 || !upstream?.startsWith('http://127.0.0.1:')) {
  console.error('usage: node bench/bare-proxy.mjs PORT http://127.0.0.1:UPSTREAM_PORT');
  process.exit(2);
}

const app = Fastify({ logger: false });
await app.register(proxy, { upstream, prefix: '/echo', rewritePrefix: '' });
app.get('/ready', async () => ({ ok: true }));
await app.listen({ host: '127.0.0.1', port });
console.log(`bare proxy listening on 127.0.0.1:${port}, forwarding /echo to ${upstream}`);

for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => void app.close());
