/**
 * The token API of one environment's listener: `POST /v1/auth/token`, revocation (RFC 7009),
 * introspection (RFC 7662), the JWKS and RFC 8414 metadata.
 */
import formbody from '@fastify/formbody';
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import type { Environment } from '../domain/environment.js';
import { OAuthError } from '../domain/errors.js';
import { quoteSubmitted } from '../domain/secrets.js';
import type { Keyring } from '../services/keyring.js';
import type { TokenService } from '../services/tokens.js';
import { handleTokenApiError, noStore } from './errors.js';
import { clientCredentialsGrant } from './grants/client-credentials.js';
import { refreshTokenGrant } from './grants/refresh-token.js';
import type { Grant } from './grants/types.js';
import { passwordGrant, userCredentialsGrant } from './grants/user-credentials.js';
import { parseForm, parseJson, readClientCredentials, readParams, required } from './params.js';

const GRANTS: Grant[] = [
  clientCredentialsGrant,
  refreshTokenGrant,
  userCredentialsGrant,
  passwordGrant,
];
const GRANT_BY_TYPE = new Map(GRANTS.map((grant) => [grant.type, grant]));

/** Largest token API request body, in bytes. */
const BODY_LIMIT = 16 * 1024;

export interface TokenApiOptions {
  environment: Environment;
  /** The environment's issuer URL, read per request because a listener on port 0 learns it late. */
  issuer: () => string;
  tokens: TokenService;
  keyring: Keyring;
  moduleIds: () => string[];
  rateLimits: { perClientPerMinute: number; perAddressPerMinute: number };
  /** Shares the counters between nodes when set. */
  redis?: Redis | undefined;
}

type Limiter = (
  request: FastifyRequest,
) => Promise<{ isExceeded?: boolean; ttlInSeconds?: number }>;

interface Limiters {
  byAddress: Limiter;
  byClient: Limiter;
}

/** Client id of each request, for the per-client limiter's key. */
const clientIds = new WeakMap<FastifyRequest, string>();

async function enforce(limiter: Limiter, request: FastifyRequest, what: string): Promise<void> {
  const limit = await limiter(request);
  if (!limit.isExceeded) return;
  const error = new OAuthError(
    'rate_limited',
    `Too many token requests ${what}; retry in ${limit.ttlInSeconds ?? 60} s.`,
    `rate_limited ${what}`,
  );
  error.retryAfterSeconds = limit.ttlInSeconds ?? 60;
  throw error;
}

/**
 * Apply the token API's limits: per client address, and per client id from that address. The
 * client limit is keyed on the address too, so that a stranger sending a client's id with
 * wrong secrets exhausts only their own budget, not the client's.
 */
async function limitRequest(
  limiters: Limiters,
  request: FastifyRequest,
  clientId: string | undefined,
): Promise<void> {
  await enforce(limiters.byAddress, request, 'from this address');
  if (clientId === undefined) return;
  clientIds.set(request, clientId);
  await enforce(limiters.byClient, request, 'for this client from this address');
}

/** Credentials belong in the body or the Authorization header, never in the URL (RFC 6749 section 2.3.1). */
function rejectQuery(request: FastifyRequest): void {
  if (request.url.includes('?')) {
    throw new OAuthError('invalid_request', 'Send parameters in the request body, not in the URL.');
  }
}

function checkedParams(request: FastifyRequest) {
  rejectQuery(request);
  const params = readParams(request.body);
  const { credentials, basic } = readClientCredentials(request.headers.authorization, params);
  return { params, credentials, basic };
}

async function token(
  options: TokenApiOptions,
  limiters: Limiters,
  request: FastifyRequest,
  reply: FastifyReply,
) {
  const { params, credentials } = checkedParams(request);
  await limitRequest(limiters, request, credentials?.clientId);
  const grantType = required(params, 'grant_type');
  const grant = GRANT_BY_TYPE.get(grantType);
  if (!grant) {
    throw new OAuthError(
      'unsupported_grant_type',
      `Grant type ${quoteSubmitted(grantType)} is not supported. Use one of: ${GRANTS.map((g) => g.type).join(', ')}.`,
    );
  }
  // The response closes before it is finished only when the client went away.
  const disconnected = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) disconnected.abort();
  });
  const response = await grant.handle({
    environment: options.environment,
    params,
    credentials,
    address: request.ip,
    tokens: options.tokens,
    signal: disconnected.signal,
  });
  return noStore(reply).send(response);
}

async function revoke(
  options: TokenApiOptions,
  limiters: Limiters,
  request: FastifyRequest,
  reply: FastifyReply,
) {
  const { params, credentials } = checkedParams(request);
  await limitRequest(limiters, request, credentials?.clientId);
  await options.tokens.revoke(
    options.environment,
    required(params, 'token'),
    credentials,
    request.ip,
  );
  return noStore(reply).status(200).send({});
}

async function introspect(
  options: TokenApiOptions,
  limiters: Limiters,
  request: FastifyRequest,
  reply: FastifyReply,
) {
  const { params, credentials } = checkedParams(request);
  await limitRequest(limiters, request, credentials?.clientId);
  if (!credentials) {
    throw new OAuthError(
      'invalid_client',
      'Introspection requires client authentication: send client_id and client_secret.',
      'no_client_credentials',
    );
  }
  const result = await options.tokens.introspect(
    options.environment,
    required(params, 'token'),
    credentials,
    request.ip,
  );
  return noStore(reply).send(result);
}

function metadata(options: TokenApiOptions) {
  const issuer = options.issuer();
  const base = issuer.replace(/\/$/, '');
  return {
    issuer,
    token_endpoint: `${base}/v1/auth/token`,
    jwks_uri: `${base}/.well-known/jwks.json`,
    revocation_endpoint: `${base}/v1/auth/revoke`,
    introspection_endpoint: `${base}/v1/auth/introspect`,
    grant_types_supported: GRANTS.map((g) => g.type),
    response_types_supported: [],
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    revocation_endpoint_auth_methods_supported: [
      'client_secret_basic',
      'client_secret_post',
      'none',
    ],
    introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    scopes_supported: options.moduleIds(),
  };
}

export async function tokenApi(app: FastifyInstance, options: TokenApiOptions): Promise<void> {
  await app.register(async (scope) => {
    await scope.register(formbody, { parser: parseForm, bodyLimit: BODY_LIMIT });
    scope.addContentTypeParser(
      'application/json',
      { parseAs: 'string', bodyLimit: BODY_LIMIT },
      (_request, body, done) => {
        try {
          done(null, parseJson(body as string));
        } catch (error) {
          done(error as Error, undefined);
        }
      },
    );
    scope.setErrorHandler(handleTokenApiError);
    // With Redis the counters are shared by every node; while it is away, requests go through.
    await scope.register(rateLimit, {
      global: false,
      ...(options.redis
        ? { redis: options.redis, skipOnError: true, nameSpace: 'gatepass-ratelimit:' }
        : {}),
    });
    const window = { timeWindow: 60_000 };
    const limiters: Limiters = {
      byAddress: scope.createRateLimit({
        ...window,
        max: options.rateLimits.perAddressPerMinute,
        keyGenerator: (request) => `token|${options.environment}|address|${request.ip}`,
      }) as Limiter,
      byClient: scope.createRateLimit({
        ...window,
        max: options.rateLimits.perClientPerMinute,
        keyGenerator: (request) =>
          `token|${options.environment}|client|${clientIds.get(request)}|${request.ip}`,
      }) as Limiter,
    };

    const routeOptions = { bodyLimit: BODY_LIMIT };
    scope.post('/v1/auth/token', routeOptions, (request, reply) =>
      token(options, limiters, request, reply),
    );
    scope.post('/v1/auth/revoke', routeOptions, (request, reply) =>
      revoke(options, limiters, request, reply),
    );
    scope.post('/v1/auth/introspect', routeOptions, (request, reply) =>
      introspect(options, limiters, request, reply),
    );
    // Without these, another method would reach the gateway's catch-all route and get the
    // reply for a path that no module serves.
    for (const path of ['/v1/auth/token', '/v1/auth/revoke', '/v1/auth/introspect']) {
      scope.route({
        method: ['GET', 'HEAD', 'PUT', 'PATCH', 'DELETE'],
        url: path,
        handler: async (request, reply) =>
          noStore(reply)
            .status(405)
            .header('allow', 'POST')
            .send({
              error: 'invalid_request',
              error_description: `${path} accepts POST only, with a form or JSON body; this request used ${request.method}.`,
            }),
      });
    }
  });

  app.get('/.well-known/jwks.json', async (_request, reply) => {
    await options.keyring.refreshIfStale();
    return reply.header('cache-control', 'public, max-age=60').send(options.keyring.publicJwks());
  });
  app.get('/.well-known/oauth-authorization-server', async (_request, reply) => {
    return reply.header('cache-control', 'public, max-age=300').send(metadata(options));
  });
}
