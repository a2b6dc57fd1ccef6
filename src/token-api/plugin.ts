/**
 * The token API of one environment's listener: `POST /v1/auth/token`, revocation (RFC 7009),
 * introspection (RFC 7662), the JWKS and RFC 8414 metadata.
 */
import formbody from '@fastify/formbody';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Environment } from '../domain/environment.js';
import { OAuthError } from '../domain/errors.js';
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

async function token(options: TokenApiOptions, request: FastifyRequest, reply: FastifyReply) {
  const { params, credentials } = checkedParams(request);
  const grantType = required(params, 'grant_type');
  const grant = GRANT_BY_TYPE.get(grantType);
  if (!grant) {
    throw new OAuthError(
      'unsupported_grant_type',
      `Grant type "${grantType.slice(0, 64)}" is not supported. Use one of: ${GRANTS.map((g) => g.type).join(', ')}.`,
    );
  }
  const response = await grant.handle({
    environment: options.environment,
    params,
    credentials,
    address: request.ip,
    tokens: options.tokens,
  });
  return noStore(reply).send(response);
}

async function revoke(options: TokenApiOptions, request: FastifyRequest, reply: FastifyReply) {
  const { params, credentials } = checkedParams(request);
  await options.tokens.revoke(
    options.environment,
    required(params, 'token'),
    credentials,
    request.ip,
  );
  return noStore(reply).status(200).send({});
}

async function introspect(options: TokenApiOptions, request: FastifyRequest, reply: FastifyReply) {
  const { params, credentials } = checkedParams(request);
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
    scope.setNotFoundHandler((_request, reply) => reply.status(404).send({ error: 'not_found' }));

    const routeOptions = { bodyLimit: BODY_LIMIT };
    scope.post('/v1/auth/token', routeOptions, (request, reply) => token(options, request, reply));
    scope.post('/v1/auth/revoke', routeOptions, (request, reply) =>
      revoke(options, request, reply),
    );
    scope.post('/v1/auth/introspect', routeOptions, (request, reply) =>
      introspect(options, request, reply),
    );
  });

  app.get('/.well-known/jwks.json', async (_request, reply) => {
    await options.keyring.refreshIfStale();
    return reply.header('cache-control', 'public, max-age=60').send(options.keyring.publicJwks());
  });
  app.get('/.well-known/oauth-authorization-server', async (_request, reply) => {
    return reply.header('cache-control', 'public, max-age=300').send(metadata(options));
  });
}
