/**
 * What every listener shares: the logger, request ids, the access-log line, and security
 * headers. The access log holds the path without its query string and no header at all, so
 * a credential sent where it does not belong still never reaches the log.
 */

import { createServer as createHttpServer } from 'node:http';
import type { Duplex } from 'node:stream';
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyServerOptions,
  LogController,
} from 'fastify';
import type { Logger } from 'pino';
import { newRequestId } from '../domain/identifiers.js';
import type { Metrics } from '../observability/metrics.js';

/** The path of a URL without its query string. */
export function pathOf(url: string): string {
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

export interface ServerOptions {
  name: 'admin' | 'staging' | 'production';
  logger: Logger;
  metrics?: Metrics;
  bodyLimit?: number;
  trustProxy?: boolean | string[];
  /** Time a client has to send a whole request, headers and body, in milliseconds. */
  requestTimeoutMs?: number;
}

/**
 * Answer a request Node.js could not parse as HTTP, in the same JSON shape as other errors; a
 * reset connection is simply closed.
 */
function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const timedOut = error.code === 'ERR_HTTP_REQUEST_TIMEOUT';
  const id = newRequestId();
  const body = JSON.stringify({
    code: 'invalid_request',
    message: timedOut
      ? 'The request was not received in time.'
      : 'The HTTP request could not be parsed.',
    request_id: id,
  });
  const status = timedOut ? '408 Request Timeout' : '400 Bad Request';
  socket.end(
    `HTTP/1.1 ${status}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nx-request-id: ${id}\r\nconnection: close\r\n\r\n${body}`,
  );
}

export function createServer(options: ServerOptions): FastifyInstance {
  const serverOptions: FastifyServerOptions = {
    loggerInstance: options.logger.child({ listener: options.name }),
    // The access-log line below replaces Fastify's, which would log the URL with its query.
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: () => newRequestId(),
    requestIdHeader: false,
    // Node.js already caps the request line with its 16 KiB header limit. A lower router limit
    // would answer long parameters with 400 before the admin API checks the operator key, and
    // so tell an unauthenticated caller which routes exist.
    routerOptions: { maxParamLength: 16 * 1024 },
    bodyLimit: options.bodyLimit ?? 64 * 1024,
    trustProxy: options.trustProxy ?? false,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    // Fastify's default of no limit would let a client hold a connection open with a body that
    // never finishes. Node.js checks the limit only every `connectionsCheckingInterval` (30 s by
    // default), and only takes that setting when it creates the server.
    serverFactory: (handler) =>
      createHttpServer(
        { requestTimeout: options.requestTimeoutMs ?? 10_000, connectionsCheckingInterval: 1_000 },
        handler,
      ),
    clientErrorHandler: answerClientError,
    // A malformed URL fails before any hook runs; answer it in the same shape as other errors.
    frameworkErrors: (error, _request, reply) => {
      const id = newRequestId();
      const body = {
        code: 'invalid_request',
        message: `The request is malformed: ${error.message}`,
        request_id: id,
      };
      (reply as unknown as FastifyReply).header('x-request-id', id).status(400).send(body);
    },
  };
  const app = Fastify(serverOptions) as unknown as FastifyInstance;
  // The access-log line holds only the fields built below, none of which can carry a credential
  // field, so it skips the redaction paths, which cost about 2% of CPU time on the hot paths.
  const accessLog = options.logger.child({ listener: options.name }, { redact: [] });

  // Both hooks below run on every request, so they take a callback rather than return a promise.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    reply.header('x-content-type-options', 'nosniff');
    done();
  });

  // Fastify's default error handler logs nothing while request logging is disabled, so a
  // route without its own handler (JWKS, health) would fail without a trace. Only the error
  // is logged, never the request, whose URL and headers may carry a credential.
  // A server error's message may name files or queries, so the client gets a generic one.
  app.setErrorHandler<FastifyError>((error, request, reply) => {
    const status = error.statusCode ?? 500;
    if (status < 500) {
      return reply
        .status(status)
        .send({ code: 'invalid_request', message: error.message, request_id: request.id });
    }
    request.log.error({ err: error }, 'route failed with an unexpected error');
    return reply.status(status).send({
      code: 'internal_error',
      message: 'The server failed to process the request; retry later.',
      request_id: request.id,
    });
  });

  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({
      code: 'not_found',
      message: `No route is ${request.method} ${pathOf(request.url)} on the ${options.name} listener.`,
      request_id: request.id,
    }),
  );

  app.addHook('onResponse', (request, reply, done) => {
    const status = reply.statusCode;
    const line = {
      reqId: request.id,
      method: request.method,
      path: pathOf(request.url),
      status,
      ms: Math.round(reply.elapsedTime * 100) / 100,
      address: request.ip,
    };
    options.metrics?.requests.inc({
      listener: options.name,
      route: request.routeOptions.url ?? 'unmatched',
      method: request.method,
      status,
    });
    if (status >= 500) accessLog.error(line, 'request failed');
    else accessLog.info(line, 'request');
    done();
  });

  return app;
}
