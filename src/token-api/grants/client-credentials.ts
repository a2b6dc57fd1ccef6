import { OAuthError } from '../../domain/errors.js';
import type { Grant } from './types.js';

/** RFC 6749 section 4.4: the platform authenticates with its client id and secret. */
export const clientCredentialsGrant: Grant = {
  type: 'client_credentials',
  async handle({ environment, params, credentials, address, tokens }) {
    if (!credentials) {
      throw new OAuthError(
        'invalid_client',
        'Client authentication is required: send client_id and client_secret, in the body or as HTTP Basic.',
        'no_client_credentials',
      );
    }
    return tokens.clientCredentials(environment, credentials, params.scope, address);
  },
};
