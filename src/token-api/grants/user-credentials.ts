import { OAuthError } from '../../domain/errors.js';
import { required } from '../params.js';
import type { Grant, GrantRequest } from './types.js';

async function signIn(request: GrantRequest, email: string, grantType: string) {
  const { environment, params, credentials, address, tokens, signal } = request;
  let clientId: string | undefined;
  if (credentials) {
    // A client that authenticates as well must be valid, even though the user grant does not need it.
    const client = await tokens.authenticateClient(environment, credentials, grantType, {
      kind: 'client',
      id: credentials.clientId,
      address,
    });
    clientId = client.context.clientId;
  }
  return tokens.userCredentials(
    environment,
    email,
    required(params, 'password'),
    params.scope,
    address,
    grantType,
    clientId,
    signal,
  );
}

/** A dashboard user's email and password. */
export const userCredentialsGrant: Grant = {
  type: 'user_credentials',
  handle: (request) => signIn(request, required(request.params, 'email'), 'user_credentials'),
};

/** RFC 6749 section 4.3: the same grant under its standard name, so stock OAuth clients work. */
export const passwordGrant: Grant = {
  type: 'password',
  handle(request) {
    if (request.params.email !== undefined && request.params.username !== undefined) {
      throw new OAuthError(
        'invalid_request',
        'Send the email as "username" for the password grant, not both.',
      );
    }
    return signIn(request, required(request.params, 'username'), 'password');
  },
};
