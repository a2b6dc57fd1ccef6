/**
 * Access tokens: stateless JWTs (RFC 9068 `at+jwt`) signed by the environment's keyring.
 * Issuing one writes nothing. Verification is the one routine used by the gateway and by
 * introspection, so a token is judged the same way on every path.
 */
import { decodeJwt, type JWTPayload } from 'jose';
import { type Environment, isEnvironment } from '../domain/environment.js';
import { randomId } from '../domain/secrets.js';
import { BoundedCache } from './cache.js';
import type { ClientContext, Directory, UserContext } from './directory.js';
import type { Keyring } from './keyring.js';

export const ACCESS_TOKEN_TYPE = 'at+jwt';

export interface AccessPrincipal {
  environment: Environment;
  platformId: string;
  clientId: string;
  scope: string[];
  jti: string;
  issuedAt: number;
  expiresAt: number;
  user?: { id: string; email: string; role: string };
  /** Client secret the token was obtained with, from the `client_secret_id` claim. */
  clientSecretId?: string;
}

export interface IssueRequest {
  platformId: string;
  clientId: string;
  scope: string[];
  user?: { id: string; email: string; role: string };
  /** Client secret the token is obtained with. The token stops working when the secret does. */
  clientSecretId?: string;
  ttlSeconds?: number;
}

export type VerifyResult =
  | { ok: true; principal: AccessPrincipal }
  | { ok: false; reason: string; belongsTo?: Environment };

export interface AccessTokenSettings {
  issuer: Record<Environment, string>;
  audience: Record<Environment, string>;
  ttlSeconds: number;
  clockToleranceSeconds: number;
}

function principalFrom(environment: Environment, payload: JWTPayload): AccessPrincipal | undefined {
  const {
    jti,
    iat,
    exp,
    client_id: clientId,
    platform,
    scope,
    email,
    role,
    sub,
    client_secret_id: clientSecretId,
  } = payload as JWTPayload & Record<string, unknown>;
  if (typeof jti !== 'string' || typeof iat !== 'number' || typeof exp !== 'number')
    return undefined;
  if (typeof clientId !== 'string' || typeof platform !== 'string' || typeof scope !== 'string')
    return undefined;
  const principal: AccessPrincipal = {
    environment,
    platformId: platform,
    clientId,
    scope: scope === '' ? [] : scope.split(' '),
    jti,
    issuedAt: iat,
    expiresAt: exp,
  };
  if (typeof email === 'string' && typeof role === 'string' && typeof sub === 'string') {
    principal.user = { id: sub, email, role };
  }
  if (typeof clientSecretId === 'string') principal.clientSecretId = clientSecretId;
  return principal;
}

/**
 * Whether a token issued at `issuedAt` (epoch seconds) predates a revocation at `revokedAt`
 * (epoch milliseconds). JWT times are whole seconds, so a token issued in the same second as
 * the revocation is kept: the status checks that run on every call still reject it while the
 * platform is suspended or the user disabled.
 * NOTE: such a token outlives a password reset, and works again once the platform is resumed or
 * the user enabled, until it expires (at most the access-token lifetime).
 */
export function issuedBefore(issuedAt: number, revokedAt: number | null): boolean {
  return revokedAt !== null && issuedAt < Math.floor(revokedAt / 1000);
}

/** Check whether `secretId` is one of the client's secrets that is neither revoked nor expired. */
function isLiveClientSecret(client: ClientContext, secretId: string, now: number): boolean {
  return client.secrets.some(
    (s) => s.id === secretId && s.kind === 'client' && (s.expiresAt === null || s.expiresAt > now),
  );
}

export class AccessTokens {
  /** Verified tokens, so that a token used many times is checked by signature once. */
  private readonly verified = new BoundedCache<string, AccessPrincipal>({
    maxEntries: 20_000,
    ttlMs: 60_000,
  });

  constructor(
    private readonly keyrings: Record<Environment, Keyring>,
    private readonly directory: Directory,
    private readonly settings: AccessTokenSettings,
    private readonly now: () => number = Date.now,
  ) {}

  get ttlSeconds(): number {
    return this.settings.ttlSeconds;
  }

  async issue(
    environment: Environment,
    request: IssueRequest,
  ): Promise<{ token: string; expiresIn: number }> {
    const ttl = request.ttlSeconds ?? this.settings.ttlSeconds;
    const iat = Math.floor(this.now() / 1000);
    const claims: JWTPayload = {
      iss: this.settings.issuer[environment],
      sub: request.user?.id ?? request.platformId,
      aud: this.settings.audience[environment],
      iat,
      nbf: iat,
      exp: iat + ttl,
      jti: randomId(22),
      env: environment,
      client_id: request.clientId,
      platform: request.platformId,
      scope: request.scope.join(' '),
    };
    if (request.user) {
      claims.email = request.user.email;
      claims.role = request.user.role;
    }
    if (request.clientSecretId) claims.client_secret_id = request.clientSecretId;
    return {
      token: await this.keyrings[environment].sign(claims, ACCESS_TOKEN_TYPE),
      expiresIn: ttl,
    };
  }

  /** Name the environment an unverifiable token claims, so the error can say where it belongs. */
  private claimedEnvironment(token: string): Environment | undefined {
    try {
      const env = decodeJwt(token).env;
      return isEnvironment(env) ? env : undefined;
    } catch {
      return undefined;
    }
  }

  private async verifySignature(environment: Environment, token: string): Promise<VerifyResult> {
    const cached = this.verified.peek(token);
    if (cached && cached.environment === environment) return { ok: true, principal: cached };

    let payload: JWTPayload;
    try {
      payload = await this.keyrings[environment].verify(token, {
        issuer: this.settings.issuer[environment],
        audience: this.settings.audience[environment],
        typ: ACCESS_TOKEN_TYPE,
        clockTolerance: this.settings.clockToleranceSeconds,
        requiredClaims: ['iss', 'sub', 'aud', 'exp', 'iat', 'nbf', 'jti'],
      });
    } catch (error) {
      const code = (error as { code?: string }).code ?? 'ERR_INVALID';
      const belongsTo = this.claimedEnvironment(token);
      if (belongsTo && belongsTo !== environment)
        return { ok: false, reason: 'wrong_environment', belongsTo };
      return { ok: false, reason: code === 'ERR_JWT_EXPIRED' ? 'expired' : code };
    }

    const nowSeconds = this.now() / 1000;
    if (payload.env !== environment) return { ok: false, reason: 'wrong_environment_claim' };
    if ((payload.iat ?? 0) > nowSeconds + this.settings.clockToleranceSeconds) {
      return { ok: false, reason: 'issued_in_future' };
    }
    const principal = principalFrom(environment, payload);
    if (!principal) return { ok: false, reason: 'malformed_claims' };

    const remainingMs = principal.expiresAt * 1000 - this.now();
    this.verified.set(token, principal, Math.min(remainingMs, 60_000));
    return { ok: true, principal };
  }

  /**
   * Verify an access token presented on `environment`'s listener: signature, algorithm, `typ`,
   * `iss`, `aud`, `exp`, `nbf`, `iat` and `env`. Then check that its user is still active, that
   * its platform's sessions were not revoked after it was issued, and that the client secret it
   * was obtained with is still live.
   */
  async verify(environment: Environment, token: string): Promise<VerifyResult> {
    const result = await this.verifySignature(environment, token);
    if (!result.ok) return result;
    const { principal } = result;

    const client = await this.directory.client(principal.clientId);
    if (!client || client.platform.id !== principal.platformId)
      return { ok: false, reason: 'unknown_client' };
    const revokedAt = client.platform.sessions_revoked_at;
    if (issuedBefore(principal.issuedAt, revokedAt))
      return { ok: false, reason: 'platform_sessions_revoked' };
    // Revoking a leaked client secret must also cut off the tokens obtained with it.
    if (
      principal.clientSecretId !== undefined &&
      !isLiveClientSecret(client, principal.clientSecretId, this.now())
    ) {
      return { ok: false, reason: 'client_secret_revoked' };
    }

    if (principal.user) {
      const user: UserContext | null = await this.directory.user(principal.user.id);
      if (!user || user.status !== 'active' || user.platformId !== principal.platformId) {
        return { ok: false, reason: 'user_inactive' };
      }
      if (issuedBefore(principal.issuedAt, user.sessionsRevokedAt)) {
        return { ok: false, reason: 'user_sessions_revoked' };
      }
    }
    return { ok: true, principal };
  }
}
