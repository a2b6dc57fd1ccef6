/**
 * The gateway of one environment's listener: every module under its route prefix. A call is
 * authorized by the gateway service, then streamed to the module's upstream for this
 * environment. Errors are JSON with a stable `code`, a `message` and the `request_id`.
 */
import type { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Environment } from '../domain/environment.js';
import { ApiError } from '../domain/errors.js';
import { pathOf } from '../http/server.js';
import type { CallPrincipal, GatewayService } from '../services/gateway.js';
import type { Module } from '../services/modules.js';
import type { RequestLogWriter } from '../services/request-log.js';
import { type HeaderNames, readCredential, readSecrets } from './credentials.js';
import { downstreamHeaders, Forwarder, hasDotSegments, upstreamHeaders } from './forward.js';

export interface GatewayOptions {
  environment: Environment;
  modules: Module[];
  gateway: GatewayService;
  requestLog: RequestLogWriter;
  headers: HeaderNames;
  bodyLimit: number;
}

interface CallRecord {
  module: Module;
  principal?: CallPrincipal;
  platformId?: string;
  errorCode?: string;
}

const calls = new WeakMap<FastifyRequest, CallRecord>();

function sendError(
  request: FastifyRequest,
  reply: FastifyReply,
  error: ApiError,
  tokenPresented: boolean,
): FastifyReply {
  if (error.status === 401) {
    const challenge = tokenPresented
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

async function handle(
  options: GatewayOptions,
  forwarder: Forwarder,
  module: Module,
  request: FastifyRequest,
  reply: FastifyReply,
) {
  const record: CallRecord = { module };
  calls.set(request, record);
  const rest = request.url.slice(module.prefix.length);
  const path = rest === '' || rest.startsWith('?') ? `/${rest}` : rest;
  const tokenPresented = request.headers.authorization !== undefined;

  let principal: CallPrincipal;
  try {
    if (hasDotSegments(pathOf(path)))
      throw new ApiError('invalid_request', 'The path must not contain "." or ".." segments.');
    const credential = readCredential(request.headers, options.headers);
    principal = await options.gateway.authorize(
      options.environment,
      module,
      credential,
      readSecrets(request.headers, options.headers),
    );
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    record.errorCode = error.code;
    if (error.platformId) record.platformId = error.platformId;
    return sendError(request, reply, error, tokenPresented);
  }
  record.principal = principal;

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
    const upstream = await forwarder.forward({
      upstream: module.upstreams[options.environment],
      path,
      method: request.method,
      headers: upstreamHeaders(request.headers, dropped, identity),
      body: request.body as Readable | undefined,
      bodyLimit: options.bodyLimit,
      timeoutMs: module.timeoutMs,
    });
    return reply
      .status(upstream.statusCode)
      .headers(downstreamHeaders(upstream.headers))
      .send(upstream.body);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    record.errorCode = error.code;
    request.log.warn(
      { code: error.code, module: module.id, reason: error.detail },
      'upstream call failed',
    );
    return sendError(request, reply, error, false);
  }
}

function logCall(options: GatewayOptions, request: FastifyRequest, reply: FastifyReply): void {
  const record = calls.get(request);
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
    auth_method: record.principal?.authMethod ?? 'unknown',
    request_id: request.id,
    client_address: request.ip,
    user_id: record.principal?.user?.id ?? null,
    error_code: record.errorCode ?? null,
  });
}

export async function gatewayApi(app: FastifyInstance, options: GatewayOptions): Promise<void> {
  const forwarder = new Forwarder();
  app.addHook('onClose', () => forwarder.close());

  await app.register(async (scope) => {
    // Bodies stream to the upstream unread, whatever their type.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
    scope.addHook('onResponse', async (request, reply) => logCall(options, request, reply));
    scope.setErrorHandler((error, request, reply) => {
      request.log.error({ err: error }, 'gateway call failed');
      return sendError(
        request,
        reply,
        new ApiError('internal_error', 'The gateway failed to process the call; retry later.'),
        false,
      );
    });

    for (const module of options.modules) {
      const handler = (request: FastifyRequest, reply: FastifyReply) =>
        handle(options, forwarder, module, request, reply);
      scope.all(module.prefix, handler);
      scope.all(`${module.prefix}/*`, handler);
    }
  });
}
