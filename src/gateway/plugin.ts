/**
 * The gateway of one environment's listener: every module under its route prefix. A call is
 * authorized by the gateway service, then streamed to the module's upstream for this
 * environment. Errors are JSON with a stable `code`, a `message` and the `request_id`.
 */
import type { Readable } from 'node:stream';
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import type { Environment } from '../domain/environment.js';
import { ApiError } from '../domain/errors.js';
import { pathOf } from '../http/server.js';
import type { Metrics } from '../observability/metrics.js';
import type { CallPrincipal, GatewayService } from '../services/gateway.js';
import type { Module, ModuleRegistry } from '../services/modules.js';
import type { RequestLogWriter } from '../services/request-log.js';
import { isDatabaseUnavailable } from '../store/database.js';
import {
  type HeaderNames,
  readCredential,
  readSecrets,
  rejectRepeatedHeaders,
} from './credentials.js';
import { downstreamHeaders, Forwarder, hasDotSegments, upstreamHeaders } from './forward.js';

export interface GatewayOptions {
  environment: Environment;
  modules: ModuleRegistry;
  gateway: GatewayService;
  requestLog: RequestLogWriter;
  headers: HeaderNames;
  bodyLimit: number;
  /** Calls per minute for each platform and module, unless the platform has its own limit. */
  rateLimitPerMinute: number;
  /** Shares the counters between nodes when set. */
  redis?: Redis | undefined;
  metrics?: Metrics;
}

type Limiter = (request: FastifyRequest) => Promise<{
  isExceeded?: boolean;
  max?: number;
  remaining?: number;
  ttlInSeconds?: number;
}>;

const RATE_LIMIT_WINDOW_SECONDS = 60;
/** Largest upstream response body, in bytes, that is read whole before it is sent on. */
const BUFFERED_RESPONSE_LIMIT = 16 * 1024;

interface CallRecord {
  module: Module;
  principal?: CallPrincipal;
  platformId?: string;
  authMethod?: CallPrincipal['authMethod'];
  errorCode?: string;
}

const calls = new WeakMap<FastifyRequest, CallRecord>();

function sendError(request: FastifyRequest, reply: FastifyReply, error: ApiError): FastifyReply {
  if (error.status === 401) {
    // RFC 6750 section 3.1: `invalid_token` means the client should get a new token, so the
    // challenge names it only when the token failed, not when a module or provider secret did.
    const challenge =
      error.code === 'invalid_token'
        ? 'Bearer realm="gatepass", error="invalid_token"'
        : 'Bearer realm="gatepass"';
    reply.header('www-authenticate', challenge);
  }
  if (error.detail)
    request.log.info({ code: error.code, reason: error.detail }, 'gateway call refused');
  return reply
    .status(error.status)
    .send({ code: error.code, message: error.message, request_id: request.id });
}

/**
 * Count a call against its platform and module's limit, and set the `RateLimit-Policy` and
 * `RateLimit` headers of the IETF httpapi draft on the reply. Throws `rate_limited` past it.
 */
async function enforceRateLimit(
  limiter: Limiter,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<void> {
  const limit = await limiter(request);
  const reset = limit.ttlInSeconds ?? RATE_LIMIT_WINDOW_SECONDS;
  reply.header('ratelimit-policy', `"per-module";q=${limit.max};w=${RATE_LIMIT_WINDOW_SECONDS}`);
  reply.header('ratelimit', `"per-module";r=${Math.max(limit.remaining ?? 0, 0)};t=${reset}`);
  if (limit.isExceeded) {
    reply.header('retry-after', String(reset));
    throw new ApiError(
      'rate_limited',
      `This platform made more than ${limit.max} calls to this module in a minute; retry in ${reset} s.`,
    );
  }
}

async function handle(
  options: GatewayOptions,
  forwarder: Forwarder,
  limiter: Limiter,
  module: Module,
  request: FastifyRequest,
  reply: FastifyReply,
) {
  const record: CallRecord = { module };
  calls.set(request, record);
  const rest = request.url.slice(module.prefix.length);
  const path = rest === '' || rest.startsWith('?') ? `/${rest}` : rest;

  let principal: CallPrincipal;
  try {
    if (hasDotSegments(pathOf(path)))
      throw new ApiError('invalid_request', 'The path must not contain "." or ".." segments.');
    rejectRepeatedHeaders(request.raw.rawHeaders, options.headers);
    const credential = readCredential(request.headers, options.headers);
    // A call rejected after authentication still names its method in the request log.
    record.authMethod = credential.method;
    principal = await options.gateway.authorize(
      options.environment,
      module,
      credential,
      readSecrets(request.headers, options.headers),
      request.ip,
    );
    record.principal = principal;
    await enforceRateLimit(limiter, request, reply);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    record.errorCode = error.code;
    if (error.platformId) record.platformId = error.platformId;
    return sendError(request, reply, error);
  }

  const identity: Record<string, string> = {
    'x-request-id': request.id,
    'x-gatepass-platform': principal.platformId,
    'x-gatepass-environment': principal.environment,
    'x-gatepass-module': principal.moduleId,
    'x-gatepass-client-id': principal.clientId,
    'x-gatepass-auth-method': principal.authMethod,
    'x-gatepass-assertion': await options.gateway.assertion(principal),
    'x-forwarded-for': request.ip,
    'x-forwarded-proto': request.protocol,
  };
  if (principal.user) {
    identity['x-gatepass-user'] = principal.user.id;
    identity['x-gatepass-user-email'] = principal.user.email;
  }
  const dropped = new Set([
    'authorization',
    options.headers.clientId,
    options.headers.clientSecret,
    options.headers.moduleSecret,
    options.headers.providerSecret,
  ]);

  try {
    const forwarded = {
      upstream: module.upstreams[options.environment],
      path,
      method: request.method,
      headers: upstreamHeaders(request.headers, dropped, identity),
      body: request.body as Readable | undefined,
      bodyLimit: options.bodyLimit,
      timeoutMs: module.timeoutMs,
    };
    const upstream = await forwarder.forward(forwarded);
    // A small body of known length is read whole and written with the headers in one write,
    // which costs a fraction of piping a stream. Larger or unsized bodies stream through.
    const length = Number(upstream.headers['content-length'] ?? Number.NaN);
    const body =
      length <= BUFFERED_RESPONSE_LIMIT
        ? await forwarder.readBody(upstream, forwarded)
        : upstream.body;
    return reply
      .status(upstream.statusCode)
      .headers(downstreamHeaders(upstream.headers))
      .send(body);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    record.errorCode = error.code;
    options.metrics?.upstreamErrors.inc({
      environment: options.environment,
      module: module.id,
      code: error.code,
    });
    request.log.warn(
      { code: error.code, module: module.id, reason: error.detail },
      'upstream call failed',
    );
    return sendError(request, reply, error);
  }
}

function decodedPath(url: string): string | undefined {
  try {
    return decodeURIComponent(pathOf(url));
  } catch {
    return undefined;
  }
}

/** The error for a URL that names no module: 400 for a percent-encoded prefix, else 404. */
function unmatched(modules: ModuleRegistry, request: FastifyRequest): ApiError {
  const decoded = decodedPath(request.url);
  const module = decoded === undefined ? undefined : modules.match(decoded);
  if (module) {
    return new ApiError(
      'invalid_request',
      `Write the module prefix ${module.prefix} without percent-encoding.`,
    );
  }
  return new ApiError(
    'not_found',
    `No module is served at this path. Module prefixes: ${modules
      .all()
      .map((m) => m.prefix)
      .join(', ')}.`,
  );
}

function logCall(options: GatewayOptions, request: FastifyRequest, reply: FastifyReply): void {
  const record = calls.get(request);
  if (record) {
    options.metrics?.gatewayLatency.observe(
      {
        environment: options.environment,
        module: record.module.id,
        status_class: `${Math.floor(reply.statusCode / 100)}xx`,
      },
      reply.elapsedTime / 1000,
    );
  }
  const platformId = record?.principal?.platformId ?? record?.platformId;
  if (!record || !platformId) return;
  options.requestLog.record({
    at: Date.now(),
    environment: options.environment,
    platform_id: platformId,
    module_id: record.module.id,
    method: request.method,
    path: pathOf(request.url),
    status: reply.statusCode,
    latency_ms: Math.round(reply.elapsedTime * 100) / 100,
    auth_method: record.principal?.authMethod ?? record.authMethod ?? 'unknown',
    request_id: request.id,
    client_address: request.ip,
    user_id: record.principal?.user?.id ?? null,
    error_code: record.errorCode ?? null,
  });
}

export async function gatewayApi(app: FastifyInstance, settings: GatewayOptions): Promise<void> {
  // Node.js lower-cases incoming header names, so configured names must match in lower case.
  const headers: HeaderNames = {
    clientId: settings.headers.clientId.toLowerCase(),
    clientSecret: settings.headers.clientSecret.toLowerCase(),
    moduleSecret: settings.headers.moduleSecret.toLowerCase(),
    providerSecret: settings.headers.providerSecret.toLowerCase(),
  };
  const options: GatewayOptions = { ...settings, headers };
  const forwarder = new Forwarder();
  app.addHook('onClose', () => forwarder.close());

  await app.register(async (scope) => {
    // While Redis is away, calls go through unlimited rather than failing.
    await scope.register(rateLimit, {
      global: false,
      ...(options.redis
        ? { redis: options.redis, skipOnError: true, nameSpace: 'gatepass-ratelimit:' }
        : {}),
    });
    // Both authentication methods resolve to the same principal, so they share one bucket.
    const limiter = scope.createRateLimit({
      keyGenerator: (request) => {
        const principal = calls.get(request)?.principal;
        return `gateway|${options.environment}|${principal?.platformId}|${principal?.moduleId}`;
      },
      max: async (request) =>
        calls.get(request)?.principal?.rateLimitPerMinute ?? options.rateLimitPerMinute,
      timeWindow: RATE_LIMIT_WINDOW_SECONDS * 1000,
    }) as Limiter;
    // Bodies stream to the upstream unread, whatever their type.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
    scope.addHook('onResponse', async (request, reply) => logCall(options, request, reply));
    scope.setErrorHandler((error, request, reply) => {
      const status = (error as { statusCode?: number }).statusCode;
      if (status !== undefined && status >= 400 && status < 500) {
        // Fastify refuses some requests itself, such as one with a malformed Content-Type.
        const message = `The request is malformed: ${(error as Error).message}`;
        return sendError(request, reply, new ApiError('invalid_request', message));
      }
      if (isDatabaseUnavailable(error)) {
        // Calls of clients already cached go on; one that needs the database waits for it.
        request.log.error({ err: error }, 'gateway call failed: the database is unreachable');
        reply.header('retry-after', '5');
        const message =
          'The gateway cannot reach its database to check these credentials; retry in a few seconds.';
        return sendError(request, reply, new ApiError('service_unavailable', message));
      }
      request.log.error({ err: error }, 'gateway call failed');
      return sendError(
        request,
        reply,
        new ApiError('internal_error', 'The gateway failed to process the call; retry later.'),
      );
    });

    // One route for every module, so modules created or retired while running are served at once.
    scope.all('/*', (request, reply) => {
      const module = options.modules.match(request.url);
      if (module) return handle(options, forwarder, limiter, module, request, reply);
      return sendError(request, reply, unmatched(options.modules, request));
    });
  });
}
