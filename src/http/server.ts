/**
 * What every listener shares: the logger, request ids, the access-log line, and security
 * headers. The access log holds the path without its query string and no header at all, so
 * a credential sent where it does not belong still never reaches the log.
 */
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyServerOptions,
  LogController,
} from 'fastify';
import type { Logger } from 'pino';
import { newRequestId } from '../domain/identifiers.js';

/** The path of a URL without its query string. */
export function pathOf(url: string): string {
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

export interface ServerOptions {
  name: 'admin' | 'staging' | 'production';
  logger: Logger;
  bodyLimit?: number;
  trustProxy?: boolean;
}

export function createServer(options: ServerOptions): FastifyInstance {
  const serverOptions: FastifyServerOptions = {
    loggerInstance: options.logger.child({ listener: options.name }),
    // The access-log line below replaces Fastify's, which would log the URL with its query.
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: () => newRequestId(),
    requestIdHeader: false,
    bodyLimit: options.bodyLimit ?? 64 * 1024,
    trustProxy: options.trustProxy ?? false,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
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

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    reply.header('x-content-type-options', 'nosniff');
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

  app.addHook('onResponse', async (request, reply) => {
    const status = reply.statusCode;
    const line = {
      method: request.method,
      path: pathOf(request.url),
      status,
      ms: Math.round(reply.elapsedTime * 100) / 100,
      address: request.ip,
    };
    if (status >= 500) request.log.error(line, 'request failed');
    else request.log.info(line, 'request');
  });

  return app;
}
