/**
 * The admin listener: the admin API under `/admin/v1`, its OpenAPI document and reference page,
 * and health and readiness. Every admin API request is authenticated with an operator key
 * before anything else runs, so an unauthenticated caller learns nothing, not even whether a
 * route or a platform exists.
 */
import cookie from '@fastify/cookie';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { sql } from 'kysely';
import type { z } from 'zod';
import type { Context } from '../app/context.js';
import { dashboard } from '../dashboard/plugin.js';
import { ApiError } from '../domain/errors.js';
import type { Actor } from '../domain/events.js';
import { actorOf, isSameOrigin, sessionCookieName } from '../services/sessions.js';
import { openApiDocument } from './openapi.js';
import { OPERATIONS, type Operation } from './operations/index.js';

const PREFIX = '/admin/v1';
const actors = new WeakMap<FastifyRequest, Actor>();

function sendError(request: FastifyRequest, reply: FastifyReply, error: ApiError): FastifyReply {
  if (error.status === 401) reply.header('www-authenticate', 'Bearer realm="gatepass-admin"');
  return reply
    .status(error.status)
    .send({ code: error.code, message: error.message, request_id: request.id });
}

function describeInputError(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.join('.') || 'input'}: ${issue.message}`)
    .join('; ');
}

/**
 * Authenticate with an operator's dashboard session instead of a key. A change (any method but
 * GET and HEAD) also needs the session's CSRF token in `X-CSRF-Token` and an `Origin` or
 * `Referer` of this listener, as a browser sends the cookie along with forged requests too.
 */
async function authenticateSession(
  context: Context,
  request: FastifyRequest,
  sessionId: string,
): Promise<Actor> {
  const session = await context.sessions.resolve(sessionId);
  if (!session || session.subject.kind !== 'operator') {
    throw new ApiError(
      'invalid_credentials',
      'The session has ended or is not an operator session; sign in to the dashboard again.',
    );
  }
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    const publicUrl = context.config.dashboard.publicUrl;
    const expected = publicUrl
      ? new URL(publicUrl).origin
      : `${request.protocol}://${request.host}`;
    const { origin, referer } = request.headers;
    const token = request.headers['x-csrf-token'];
    if (
      !isSameOrigin(expected, origin, referer) ||
      !context.sessions.verifyCsrf(sessionId, typeof token === 'string' ? token : undefined)
    ) {
      throw new ApiError(
        'forbidden',
        'A change made with a session needs the X-CSRF-Token header and a same-origin request.',
      );
    }
  }
  return actorOf(session.subject, request.ip);
}

async function authenticate(context: Context, request: FastifyRequest): Promise<Actor> {
  const header = request.headers.authorization;
  const secure = context.config.dashboard.secureCookies || request.protocol === 'https';
  const sessionId = request.cookies[sessionCookieName(secure)];
  if (header === undefined && sessionId) return authenticateSession(context, request, sessionId);
  const match = header ? /^bearer +(\S+)$/i.exec(header) : null;
  if (!match?.[1]) {
    throw new ApiError(
      'missing_credentials',
      'Send an operator key as "Authorization: Bearer <key>". Create one with: gatepass operators create-key NAME',
    );
  }
  const identity = await context.operators.authenticate(match[1]);
  if (!identity)
    throw new ApiError('invalid_credentials', 'The operator key is invalid or revoked.');
  return { kind: 'operator', id: identity.name, address: request.ip };
}

/**
 * Return the first field that contains a NUL character, looking into nested arrays and objects. The
 * walk uses its own stack, so a deeply nested body cannot overflow the call stack.
 */
function fieldWithNul(raw: Record<string, unknown>): string | undefined {
  const pending: Array<[string, unknown]> = Object.entries(raw);
  for (let next = pending.pop(); next; next = pending.pop()) {
    const [field, value] = next;
    if (typeof value === 'string' && value.includes('\u0000')) return field;
    if (value !== null && typeof value === 'object') {
      for (const inner of Object.values(value)) pending.push([field, inner]);
    }
  }
  return undefined;
}

async function run(
  context: Context,
  operation: Operation,
  request: FastifyRequest,
  reply: FastifyReply,
) {
  const body =
    request.body && typeof request.body === 'object' && !Array.isArray(request.body)
      ? request.body
      : {};
  // Only GET and DELETE take their input from the query string, as the OpenAPI document states.
  // Elsewhere it would let a password or comment travel in a URL, which proxies and logs keep.
  const query = operation.method === 'GET' || operation.method === 'DELETE' ? request.query : {};
  const raw = { ...(query as object), ...body, ...(request.params as object) };
  // PostgreSQL cannot store U+0000 in text, so it would fail the query with a server error.
  const nulField = fieldWithNul(raw);
  if (nulField !== undefined) {
    throw new ApiError(
      'invalid_request',
      `Invalid input: ${nulField}: must not contain the NUL character (U+0000).`,
    );
  }
  const input = operation.input.safeParse(raw);
  if (!input.success)
    throw new ApiError('invalid_request', `Invalid input: ${describeInputError(input.error)}.`);
  const actor = actors.get(request) as Actor;
  const result = await operation.run(context, input.data, actor);
  return reply.status(operation.status ?? 200).send(result ?? {});
}

async function adminRoutes(scope: FastifyInstance, context: Context): Promise<void> {
  scope.addHook('onRequest', async (request, reply) => {
    // Everything here may carry or reveal a secret or personal data.
    reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
    actors.set(request, await authenticate(context, request));
  });
  scope.setErrorHandler((error, request, reply) => {
    if (error instanceof ApiError) return sendError(request, reply, error);
    const status = (error as { statusCode?: number }).statusCode;
    if (status && status >= 400 && status < 500) {
      return sendError(
        request,
        reply,
        new ApiError('invalid_request', 'The request body could not be parsed; send JSON.'),
      );
    }
    request.log.error({ err: error }, 'admin API request failed');
    return sendError(
      request,
      reply,
      new ApiError('internal_error', 'The request failed on the server; retry later.'),
    );
  });
  scope.setNotFoundHandler((request, reply) =>
    sendError(
      request,
      reply,
      new ApiError(
        'not_found',
        `No admin API route is ${request.method} ${request.url.split('?')[0]}.`,
      ),
    ),
  );
  for (const operation of OPERATIONS) {
    scope.route({
      method: operation.method,
      url: operation.path.slice(PREFIX.length) || '/',
      handler: (request, reply) => run(context, operation, request, reply),
    });
  }
}

export async function adminApi(app: FastifyInstance, options: { context: Context }): Promise<void> {
  const { context } = options;
  const document = openApiDocument(OPERATIONS);
  await app.register(cookie);

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (request, reply) => {
    const checks: Record<string, 'ok' | 'unreachable'> = {};
    try {
      await sql`select 1`.execute(context.store.db);
      checks.database = 'ok';
    } catch (error) {
      request.log.warn({ err: error }, 'readiness check failed: the database did not answer');
      checks.database = 'unreachable';
    }
    if (context.redis) checks.redis = (await context.redis.ping()) ? 'ok' : 'unreachable';
    const ready = Object.values(checks).every((state) => state === 'ok');
    return reply
      .status(ready ? 200 : 503)
      .send({ status: ready ? 'ready' : 'unavailable', ...checks });
  });
  app.get('/metrics', async (_request, reply) =>
    reply.type(context.metrics.registry.contentType).send(await context.metrics.registry.metrics()),
  );
  app.get('/admin/openapi.json', async () => document);
  await app.register(swagger, { mode: 'static', specification: { document: document as never } });
  await app.register(swaggerUi, { routePrefix: '/admin/docs' });
  await app.register((scope) => adminRoutes(scope, context), { prefix: PREFIX });
  await app.register(dashboard, { context });
}
