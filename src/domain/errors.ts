/** Errors with stable codes. Surfaces map them to HTTP; services throw them. */

/** RFC 6749 section 5.2 error codes, plus those of RFC 6750 and RFC 7009 the token API uses. */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'unsupported_token_type'
  | 'temporarily_unavailable'
  | 'rate_limited'
  | 'server_error';

const OAUTH_STATUS: Record<OAuthErrorCode, number> = {
  invalid_request: 400,
  invalid_client: 401,
  invalid_grant: 400,
  unauthorized_client: 400,
  unsupported_grant_type: 400,
  invalid_scope: 400,
  unsupported_token_type: 400,
  temporarily_unavailable: 503,
  rate_limited: 429,
  server_error: 500,
};

/**
 * An error of the token API. `description` goes to the client; `detail` is the real reason,
 * which goes only to the log and the audit trail (a wrong secret and an unknown client must
 * look the same to the caller).
 */
export class OAuthError extends Error {
  readonly status: number;
  /** Seconds the client should wait before retrying, sent as `Retry-After`. */
  retryAfterSeconds?: number;

  constructor(
    readonly error: OAuthErrorCode,
    readonly description: string,
    readonly detail?: string,
  ) {
    super(`${error}: ${description}`);
    this.name = 'OAuthError';
    this.status = OAUTH_STATUS[error];
  }
}

/** Stable codes of gateway and admin API errors, each with one HTTP status. */
export const API_ERROR_STATUS = {
  invalid_request: 400,
  multiple_credentials: 400,
  missing_credentials: 401,
  invalid_credentials: 401,
  invalid_token: 401,
  missing_module_secret: 401,
  invalid_module_secret: 401,
  missing_provider_secret: 401,
  invalid_provider_secret: 401,
  wrong_environment: 403,
  platform_suspended: 403,
  module_not_enabled: 403,
  module_not_in_scope: 403,
  address_not_allowed: 403,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  rate_limited: 429,
  internal_error: 500,
  upstream_unavailable: 502,
  service_unavailable: 503,
  upstream_timeout: 504,
} as const;

export type ApiErrorCode = keyof typeof API_ERROR_STATUS;

export class ApiError extends Error {
  readonly status: number;
  /** Platform the failed call was made for, once authentication has told it. */
  platformId?: string;

  constructor(
    readonly code: ApiErrorCode,
    message: string,
    readonly detail?: string,
  ) {
    super(message);
    this.name = 'ApiError';
    this.status = API_ERROR_STATUS[code];
  }
}
