import type { Environment } from '../../domain/environment.js';
import type { ClientCredentials, TokenResponse, TokenService } from '../../services/tokens.js';

/** What a grant handler receives: the checked parameters and how the client authenticated. */
export interface GrantRequest {
  environment: Environment;
  params: Record<string, string>;
  credentials: ClientCredentials | undefined;
  address: string;
  tokens: TokenService;
  /** Aborted when the client closes the connection before the reply is sent. */
  signal: AbortSignal;
}

export interface Grant {
  /** The `grant_type` value this handler serves. */
  type: string;
  handle(request: GrantRequest): Promise<TokenResponse>;
}
