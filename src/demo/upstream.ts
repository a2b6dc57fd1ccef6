/**
 * The built-in upstream of the `demo` module. It answers every request with JSON describing
 * what it received: method, path, query, body, the environment it serves, the identity headers
 * the gateway added, and the names of all headers, so that a caller can see that no
 * credential was passed on.
 */
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';

const ENVIRONMENT_PATH = /^\/(staging|production)(\/.*)?$/;

function describe(request: FastifyRequest) {
  const [pathPart = '', queryPart] = request.url.split('?', 2);
  const match = ENVIRONMENT_PATH.exec(pathPart);
  const identity: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if ((name.startsWith('x-gatepass-') || name === 'x-request-id') && typeof value === 'string')
      identity[name] = value;
  }
  return {
    module: 'demo',
    environment: match?.[1] ?? null,
    method: request.method,
    path: match?.[2] ?? '/',
    query: Object.fromEntries(new URLSearchParams(queryPart ?? '')),
    body: request.body ?? null,
    identity,
    received_headers: Object.keys(request.headers).sort(),
  };
}

export function createDemoUpstream(): FastifyInstance {
  const app = Fastify({ logger: false, bodyLimit: 1024 * 1024 });
  // Any body that is not JSON is echoed as text.
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => done(null, body));
  app.all('/*', async (request) => describe(request));
  app.all('/', async (request) => describe(request));
  return app;
}
