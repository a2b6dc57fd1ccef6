/**
 * The floors of the token API benchmark: `node bench/floor-token.mjs PORT CLIENT_ID SECRET`
 * serves two routes with Fastify 5 on 127.0.0.1:PORT, with no logging and no rate limit:
 *
 *   GET  /hello   {"hello":"world"}, the fastest route Fastify serves on this machine
 *   POST /token   a minimal client_credentials endpoint: the form body parsed, one client
 *                 looked up in memory, its secret compared by SHA-256 digest in constant time,
 *                 and an EdDSA JWT signed with node:crypto, as Gatepass signs
 *
 * No token endpoint that checks a secret and signs a token can be faster than /token here, so
 * its ratio to oidc-provider bounds what any such endpoint reaches on the same machine.
 */
import { createHash, generateKeyPairSync, randomUUID, sign, timingSafeEqual } from 'node:crypto';
import formbody from '@fastify/formbody';
import Fastify from 'fastify';

const [portText, clientId, clientSecret] = process.argv.slice(2);
const port = Number(portText);
if (!Number.isInteger(port) || port <= 0 || !clientId || !clientSecret) {
  console.error('usage: node bench/floor-token.mjs PORT CLIENT_ID CLIENT_SECRET');
  process.exit(2);
}

const digest = (text) => createHash('sha256').update(text).digest();
const clients = new Map([[clientId, { secretDigest: digest(clientSecret), scope: 'echo' }]]);
const { privateKey } = generateKeyPairSync('ed25519');
const header = Buffer.from(JSON.stringify({ alg: 'EdDSA', kid: 'floor', typ: 'at+jwt' })).toString(
  'base64url',
);
const issuer = `http://127.0.0.1:${port}`;

function invalidClient(reply) {
  return reply.status(401).send({ error: 'invalid_client' });
}

const app = Fastify({ logger: false });
await app.register(formbody);
app.get('/hello', async () => ({ hello: 'world' }));
app.post('/token', async (request, reply) => {
  const { grant_type: grantType, client_id: id, client_secret: secret } = request.body ?? {};
  if (grantType !== 'client_credentials')
    return reply.status(400).send({ error: 'unsupported_grant_type' });
  const client = clients.get(id);
  if (!client || typeof secret !== 'string') return invalidClient(reply);
  if (!timingSafeEqual(digest(secret), client.secretDigest)) return invalidClient(reply);
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    iss: issuer,
    sub: id,
    aud: issuer,
    iat: now,
    nbf: now,
    exp: now + 900,
    jti: randomUUID(),
    client_id: id,
    scope: client.scope,
  };
  const input = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  const signature = sign(null, Buffer.from(input), privateKey).toString('base64url');
  return { access_token: `${input}.${signature}`, token_type: 'Bearer', expires_in: 900 };
});
await app.listen({ host: '127.0.0.1', port });
console.log(`token floors listening on 127.0.0.1:${port}`);

for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => void app.close());
