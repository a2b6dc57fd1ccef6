/**
 * Errors of the token API as RFC 6749 section 5.2 bodies. Anything that is not an OAuthError
 * becomes a generic `server_error` for the client, and its cause goes to the log.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { OAuthError } from '../domain/errors.js';
import { PasswordHasherBusy } from '../services/passwords.js';
import { isDatabaseUnavailable } from '../store/database.js';

/** Headers of every token API response that carries or may carry a credential (RFC 6749 section 5.1). */
export function noStore(reply: FastifyReply): FastifyReply {
  return reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
}

function fromFramework(error: FastifyError): OAuthError | undefined {
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new OAuthError(
        'invalid_request',
        'Send the body as application/x-www-form-urlencoded or application/json.',
      );
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new OAuthError('invalid_request', 'The request body is too large.');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new OAuthError('invalid_request', 'The request body is empty or its length is wrong.');
    default:
      if (error.statusCode === 400 || error instanceof SyntaxError) {
        return new OAuthError(
          'invalid_request',
          'The request body could not be parsed; check its content type and encoding.',
        );
      }
      return undefined;
  }
}

export function handleTokenApiError(
  error: unknown,
  request: FastifyRequest,
  reply: FastifyReply,
): FastifyReply {
  let oauth: OAuthError;
  if (error instanceof OAuthError) oauth = error;
  else if (error instanceof PasswordHasherBusy)
    oauth = new OAuthError('temporarily_unavailable', error.message);
  else if (isDatabaseUnavailable(error)) {
    request.log.error({ err: error }, 'token API request failed: the database is unreachable');
    oauth = new OAuthError(
      'temporarily_unavailable',
      'The token service cannot reach its database; retry in a few seconds.',
    );
  } else {
    const mapped = fromFramework(error as FastifyError);
    if (mapped) oauth = mapped;
    else {
      request.log.error({ err: error }, 'token API request failed');
      oauth = new OAuthError(
        'server_error',
        'The server failed to process the request; retry later.',
      );
    }
  }

  if (oauth.detail)
    request.log.info({ error: oauth.error, reason: oauth.detail }, 'token request refused');
  noStore(reply);
  if (oauth.status === 401) {
    // RFC 9110 requires a challenge on every 401; RFC 6749 names Basic for client authentication.
    reply.header('www-authenticate', 'Basic realm="gatepass", charset="UTF-8"');
  }
  if (oauth.retryAfterSeconds !== undefined)
    reply.header('retry-after', String(oauth.retryAfterSeconds));
  else if (oauth.status === 503) reply.header('retry-after', '1');
  return reply
    .status(oauth.status)
    .type('application/json')
    .send({ error: oauth.error, error_description: oauth.description });
}
