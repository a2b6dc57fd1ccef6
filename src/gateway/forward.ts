/**
 * Forwarding a call to a module's upstream with undici: the body streams through, hop-by-hop
 * and credential headers are dropped, identity headers are added, and upstream failures become
 * 502 and timeouts 504.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import { Agent, type Dispatcher } from 'undici';
import { ApiError } from '../domain/errors.js';

/** Headers that describe one connection, not the message (RFC 9110 section 7.6.1). */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  // Node.js answers `Expect: 100-continue` itself, and undici refuses to send the header on.
  'expect',
]);

const TIMEOUT_CODES = new Set([
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CONNECT_TIMEOUT',
]);

export class BodyTooLarge extends Error {}

/** Stream `body`, failing once more than `limit` bytes have passed. */
async function* limited(body: Readable, limit: number): AsyncGenerator<Buffer> {
  let total = 0;
  for await (const chunk of body) {
    total += (chunk as Buffer).length;
    if (total > limit) throw new BodyTooLarge(`request body exceeds ${limit} bytes`);
    yield chunk as Buffer;
  }
}

function connectionTokens(headers: IncomingHttpHeaders): Set<string> {
  const value = headers.connection;
  const text = Array.isArray(value) ? value.join(',') : (value ?? '');
  return new Set(
    text
      .split(',')
      .map((token) => token.trim().toLowerCase())
      .filter(Boolean),
  );
}

/**
 * Copy request headers for the upstream, dropping hop-by-hop headers, the names in
 * `dropped` (credentials) and any `x-gatepass-*` header a client sent to pose as the gateway.
 */
export function upstreamHeaders(
  incoming: IncomingHttpHeaders,
  dropped: Set<string>,
  added: Record<string, string>,
): Record<string, string | string[]> {
  const perConnection = connectionTokens(incoming);
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(incoming)) {
    if (value === undefined || HOP_BY_HOP.has(name) || perConnection.has(name) || dropped.has(name))
      continue;
    if (name.startsWith('x-gatepass-')) continue;
    headers[name] = value;
  }
  return Object.assign(headers, added);
}

/**
 * Copy response headers for the client, dropping hop-by-hop ones and the upstream's
 * `x-request-id`, so the client sees the gateway's id that its request-log row carries.
 */
export function downstreamHeaders(
  incoming: Record<string, string | string[] | undefined>,
): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(incoming)) {
    if (value === undefined || HOP_BY_HOP.has(name) || name === 'x-request-id') continue;
    headers[name] = value;
  }
  return headers;
}

export interface ForwardRequest {
  upstream: string;
  path: string;
  method: string;
  headers: Record<string, string | string[]>;
  body: Readable | undefined;
  bodyLimit: number;
  timeoutMs: number;
}

/** Map a failure of undici to the gateway error that the caller receives. */
function upstreamError(error: unknown, request: ForwardRequest): ApiError {
  if (
    error instanceof BodyTooLarge ||
    (error as { cause?: unknown }).cause instanceof BodyTooLarge
  ) {
    return new ApiError(
      'payload_too_large',
      `The request body is larger than ${request.bodyLimit} bytes.`,
    );
  }
  const code = (error as { code?: string }).code ?? '';
  if (TIMEOUT_CODES.has(code)) {
    return new ApiError(
      'upstream_timeout',
      `The module did not answer within ${request.timeoutMs} ms; retry later.`,
      code,
    );
  }
  return new ApiError(
    'upstream_unavailable',
    'The module could not be reached; retry later.',
    code || (error as Error).message,
  );
}

export class Forwarder {
  private readonly agent = new Agent({ keepAliveTimeout: 10_000, connections: 256, pipelining: 1 });

  async forward(request: ForwardRequest): Promise<Dispatcher.ResponseData> {
    const base = new URL(request.upstream);
    const basePath = base.pathname.replace(/\/$/, '');
    try {
      return await this.agent.request({
        origin: base.origin,
        path: `${basePath}${request.path}`,
        method: request.method as Dispatcher.HttpMethod,
        headers: request.headers,
        body: request.body ? Readable.from(limited(request.body, request.bodyLimit)) : null,
        headersTimeout: request.timeoutMs,
        bodyTimeout: request.timeoutMs,
      });
    } catch (error) {
      throw upstreamError(error, request);
    }
  }

  /**
   * Read a whole response body, with the same mapping of failures as `forward`: a body cut
   * off is 502, a body that stops arriving for the module's timeout is 504.
   */
  async readBody(response: Dispatcher.ResponseData, request: ForwardRequest): Promise<Buffer> {
    try {
      return Buffer.from(await response.body.arrayBuffer());
    } catch (error) {
      throw upstreamError(error, request);
    }
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}

/**
 * Whether a path has `.` or `..` segments, also percent-encoded; such a path could climb out
 * of the upstream's base path, so the gateway rejects it.
 */
export function hasDotSegments(path: string): boolean {
  return path.split('/').some((segment) => {
    let decoded: string;
    try {
      decoded = decodeURIComponent(segment);
    } catch {
      return true;
    }
    // Some servers treat an encoded slash or a backslash as a separator, and some drop path
    // parameters (`..;x=1` reads as `..`), so check each part without its parameters.
    return decoded.split(/[\\/]/).some((part) => {
      const name = part.split(';')[0];
      return name === '.' || name === '..';
    });
  });
}
