import { required } from '../params.js';
import type { Grant } from './types.js';

/**
 * RFC 6749 section 6. Client authentication is optional, because user sessions have no client
 * secret; when a client does authenticate, the token must be its own.
 */
export const refreshTokenGrant: Grant = {
  type: 'refresh_token',
  async handle({ environment, params, credentials, address, tokens }) {
    return tokens.refresh(
      environment,
      required(params, 'refresh_token'),
      params.scope,
      credentials,
      address,
    );
  },
};
