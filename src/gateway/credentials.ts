/**
 * Reading gateway credentials from request headers. Exactly one method per call: client id
 * and secret headers, or `Authorization: Bearer`. The scheme is matched without case (RFC 9110
 * section 11.1); the token itself is taken exactly. Credentials in the URL are never read.
 */
import { ApiError } from '../domain/errors.js';
import type { PresentedCredential } from '../services/gateway.js';

export interface HeaderNames {
  clientId: string;
  clientSecret: string;
  moduleSecret: string;
  providerSecret: string;
}

type Headers = Record<string, string | string[] | undefined>;

/** RFC 6750 section 2.1 `b64token`. */
const BEARER = /^bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

function single(headers: Headers, name: string): string | undefined {
  const value = headers[name];
  if (Array.isArray(value))
    throw new ApiError('invalid_request', `Header ${name} is repeated; send it once.`);
  return value;
}

/**
 * Throw `invalid_request` when a credential header occurs more than once. Node.js keeps only
 * the first `Authorization` header and joins repeated `x-` headers with ", ", so repeats are
 * visible only in the raw headers, and a proxy in front may have read the other copy.
 */
export function rejectRepeatedHeaders(rawHeaders: string[], names: HeaderNames): void {
  const watched = new Set([
    'authorization',
    names.clientId,
    names.clientSecret,
    names.moduleSecret,
    names.providerSecret,
  ]);
  const seen = new Set<string>();
  // rawHeaders alternates names and values.
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = (rawHeaders[i] ?? '').toLowerCase();
    if (!watched.has(name)) continue;
    if (seen.has(name))
      throw new ApiError('invalid_request', `Header ${name} is repeated; send it once.`);
    seen.add(name);
  }
}

export function readCredential(headers: Headers, names: HeaderNames): PresentedCredential {
  const authorization = single(headers, 'authorization');
  const clientId = single(headers, names.clientId);
  const clientSecret = single(headers, names.clientSecret);
  const hasClientHeaders = clientId !== undefined || clientSecret !== undefined;

  if (authorization !== undefined && hasClientHeaders) {
    throw new ApiError(
      'multiple_credentials',
      `Send either an Authorization header or the ${names.clientId} and ${names.clientSecret} headers, not both.`,
    );
  }
  if (authorization !== undefined) {
    const match = BEARER.exec(authorization);
    if (!match?.[1]) {
      throw new ApiError(
        'invalid_token',
        'The Authorization header must be "Bearer <access token>".',
        'malformed_authorization',
      );
    }
    return { method: 'jwt', token: match[1] };
  }
  if (!hasClientHeaders) {
    throw new ApiError(
      'missing_credentials',
      `Authenticate with "Authorization: Bearer <access token>" or with the ${names.clientId} and ${names.clientSecret} headers.`,
    );
  }
  if (!clientId)
    throw new ApiError(
      'missing_credentials',
      `Header ${names.clientId} is missing; send it with ${names.clientSecret}.`,
    );
  if (!clientSecret)
    throw new ApiError(
      'missing_credentials',
      `Header ${names.clientSecret} is missing; send it with ${names.clientId}.`,
    );
  return { method: 'client_secret', clientId, clientSecret };
}

export function readSecrets(
  headers: Headers,
  names: HeaderNames,
): { moduleSecret: string | undefined; providerSecret: string | undefined } {
  return {
    moduleSecret: single(headers, names.moduleSecret),
    providerSecret: single(headers, names.providerSecret),
  };
}
