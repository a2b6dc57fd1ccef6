/**
 * The token service: the grants of the token API, revocation (RFC 7009) and introspection
 * (RFC 7662). It throws OAuthError with a public description and a private detail, and emits
 * `token.issued` and `grant.refused` events; it writes nothing to the database except when a
 * refresh token is used or revoked.
 */

import { normalizeEmail } from '../domain/email.js';
import type { Environment } from '../domain/environment.js';
import { OAuthError } from '../domain/errors.js';
import type { Actor, DomainEvent } from '../domain/events.js';
import { clientIdEnvironment, newChainId } from '../domain/identifiers.js';
import { judgeRefresh } from '../domain/refresh-chain.js';
import {
  openRefreshToken,
  type RefreshTokenPayload,
  refreshTokenEnvironment,
  sealRefreshToken,
} from '../domain/refresh-token.js';
import { formatScope, resolveScope } from '../domain/scope.js';
import { quoteSubmitted } from '../domain/secrets.js';
import type { Store } from '../store/index.js';
import type { AccessPrincipal, AccessTokens } from './access-tokens.js';
import { auditWithChange } from './audit.js';
import type { ClientAuthenticator } from './client-auth.js';
import type { ClientContext, Directory } from './directory.js';
import type { EventBus } from './events.js';
import { reachFaultPoint } from './fault-points.js';
import { PasswordCheckAbandoned, type PasswordHasher, PasswordHasherBusy } from './passwords.js';
import type { SignInGuard } from './sign-in-guard.js';

export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  refresh_token?: string;
  refresh_expires_in?: number;
  scope: string;
}

export interface ClientCredentials {
  clientId: string;
  clientSecret: string;
}

export interface TokenServiceOptions {
  store: Store;
  directory: Directory;
  clients: ClientAuthenticator;
  accessTokens: AccessTokens;
  passwords: PasswordHasher;
  events: EventBus;
  refreshKeys: Record<Environment, Buffer>;
  refreshTtlSeconds: number;
  refreshForClientCredentials: boolean;
  signInGuard: SignInGuard;
  now?: () => number;
}

const GENERIC_CLIENT_ERROR =
  'Client authentication failed: check the client_id and client_secret of this environment.';
const GENERIC_REFRESH_ERROR =
  'The refresh token is invalid, expired, already used or revoked. Request a new one with the grant that issued the first: client_credentials or user_credentials.';
const GENERIC_USER_ERROR = 'The email or password is incorrect.';

/** Audit-trail stand-ins for presented values that may be secrets typed into the wrong field. */
const MALFORMED_CLIENT_ID = '(malformed client_id)';
const UNKNOWN_EMAIL = '(unknown email)';

/**
 * Return a presented client id for the audit trail, or a stand-in when it is malformed. Callers
 * swap client_id and client_secret often enough that a malformed id may be the secret.
 */
function recordableClientId(clientId: string): string {
  return clientIdEnvironment(clientId) ? clientId : MALFORMED_CLIENT_ID;
}

/** The user and the client secret behind an access token, besides its platform and client. */
interface AccessSubject {
  user?: { id: string; email: string; role: string };
  /** Client secret the token was obtained with. The token stops working when the secret does. */
  clientSecretId?: string;
}

export class TokenService {
  private readonly now: () => number;

  constructor(private readonly options: TokenServiceOptions) {
    this.now = options.now ?? Date.now;
  }

  private refuse(
    environment: Environment,
    grantType: string,
    actor: Actor,
    error: OAuthError,
    extra: object = {},
  ): never {
    const recorded =
      actor.kind === 'client' ? { ...actor, id: recordableClientId(actor.id) } : actor;
    this.options.events.emit({
      type: 'grant.refused',
      at: this.now(),
      actor: recorded,
      environment,
      grantType,
      error: error.error,
      reason: error.detail ?? error.description,
      ...extra,
    });
    throw error;
  }

  /** Authenticate a client for the token API, throwing the one generic `invalid_client`. */
  async authenticateClient(
    environment: Environment,
    credentials: ClientCredentials,
    grantType: string,
    actor: Actor,
  ): Promise<{ context: ClientContext; secretId: string }> {
    const result = await this.options.clients.authenticate(
      environment,
      credentials.clientId,
      credentials.clientSecret,
    );
    if (result.ok) {
      this.checkAddress(environment, grantType, actor, result.context);
      return result;
    }
    const detail =
      result.reason === 'wrong_environment'
        ? `client credential of the ${result.belongsTo} environment presented to ${environment}`
        : result.reason;
    const description =
      result.reason === 'wrong_environment'
        ? `These credentials belong to the ${result.belongsTo} environment; send them to the ${result.belongsTo} token endpoint.`
        : GENERIC_CLIENT_ERROR;
    return this.refuse(
      environment,
      grantType,
      actor,
      new OAuthError('invalid_client', description, detail),
      {
        clientId: recordableClientId(credentials.clientId),
      },
    );
  }

  /** Refuse a platform's request from an address outside its allowlist for this environment. */
  private checkAddress(
    environment: Environment,
    grantType: string,
    actor: Actor,
    context: ClientContext,
  ): void {
    const address = actor.address ?? '';
    if (!context.allows || context.allows(address)) return;
    const error = new OAuthError(
      'unauthorized_client',
      `Requests from ${address} are not allowed for this platform in ${environment}; ask the API provider to add the address to its allowlist.`,
      'address_not_allowed',
    );
    this.refuse(environment, grantType, actor, error, {
      clientId: context.clientId,
      platformId: context.platform.id,
    });
  }

  private async issue(
    environment: Environment,
    context: ClientContext,
    scope: string[],
    chain:
      | Omit<
          RefreshTokenPayload,
          'issuedAt' | 'expiresAt' | 'scope' | 'environment' | 'platformId' | 'clientId'
        >
      | undefined,
    subject: AccessSubject = {},
  ): Promise<TokenResponse> {
    const issueRequest = {
      platformId: context.platform.id,
      clientId: context.clientId,
      scope,
      ...subject,
      ...(context.limits.accessTokenTtl ? { ttlSeconds: context.limits.accessTokenTtl } : {}),
    };
    const access = await this.options.accessTokens.issue(environment, issueRequest);
    const response: TokenResponse = {
      access_token: access.token,
      token_type: 'Bearer',
      expires_in: access.expiresIn,
      scope: formatScope(scope),
    };
    if (chain) {
      const issuedAt = Math.floor(this.now() / 1000);
      const ttl = this.options.refreshTtlSeconds;
      response.refresh_token = sealRefreshToken(this.options.refreshKeys[environment], {
        ...chain,
        environment,
        platformId: context.platform.id,
        clientId: context.clientId,
        scope,
        issuedAt,
        expiresAt: issuedAt + ttl,
      });
      response.refresh_expires_in = ttl;
    }
    return response;
  }

  private scopeOrRefuse(
    environment: Environment,
    grantType: string,
    actor: Actor,
    requested: string | undefined,
    allowed: string[],
  ): string[] {
    const scope = resolveScope(requested, allowed);
    if (scope.ok) return scope.modules;
    const error = new OAuthError(
      'invalid_scope',
      `Scope ${scope.unknown.map(quoteSubmitted).join(', ')} is not a module enabled for this platform in ${environment}. Allowed: ${formatScope(allowed) || '(none)'}.`,
    );
    return this.refuse(environment, grantType, actor, error);
  }

  private emitIssued(
    environment: Environment,
    grantType: string,
    actor: Actor,
    context: ClientContext,
    userId?: string,
  ): void {
    this.options.events.emit({
      type: 'token.issued',
      at: this.now(),
      actor,
      environment,
      grantType,
      platformId: context.platform.id,
      clientId: context.clientId,
      ...(userId ? { userId } : {}),
    });
  }

  async clientCredentials(
    environment: Environment,
    credentials: ClientCredentials,
    requestedScope: string | undefined,
    address: string,
  ): Promise<TokenResponse> {
    const actor: Actor = { kind: 'client', id: credentials.clientId, address };
    const authTime = this.now();
    const { context, secretId } = await this.authenticateClient(
      environment,
      credentials,
      'client_credentials',
      actor,
    );
    const scope = this.scopeOrRefuse(
      environment,
      'client_credentials',
      actor,
      requestedScope,
      context.modules,
    );
    const chain = this.options.refreshForClientCredentials
      ? {
          chainId: newChainId(),
          generation: 0,
          clientSecretId: secretId,
          authTime,
        }
      : undefined;
    const response = await this.issue(environment, context, scope, chain, {
      clientSecretId: secretId,
    });
    this.emitIssued(environment, 'client_credentials', actor, context);
    return response;
  }

  async userCredentials(
    environment: Environment,
    email: string,
    password: string,
    requestedScope: string | undefined,
    address: string,
    grantType: string,
    authenticatedClientId?: string,
    /** Aborted when the client goes away, so that a queued password check is skipped. */
    signal?: AbortSignal,
  ): Promise<TokenResponse> {
    const normalized = normalizeEmail(email);
    const authTime = this.now();
    const user = await this.options.store.users.findByEmail(normalized);
    // People type their password into the email field, so the audit trail names only the
    // addresses of accounts.
    const recorded = user ? { email: normalized } : {};
    const actor: Actor = { kind: 'user', id: user ? normalized : UNKNOWN_EMAIL, address };
    const refuse = (detail: string): never =>
      this.refuse(
        environment,
        grantType,
        actor,
        new OAuthError('invalid_grant', GENERIC_USER_ERROR, detail),
        recorded,
      );

    const lock = this.options.signInGuard.check(normalized, address);
    if (!lock.allowed) {
      const error = new OAuthError(
        'rate_limited',
        `Too many failed sign-ins for this email from this address; retry in ${lock.retryAfterSeconds} s.`,
        'locked_out',
      );
      error.retryAfterSeconds = lock.retryAfterSeconds;
      return this.refuse(environment, grantType, actor, error, recorded);
    }
    // The attempt counts as failed until the password proves right, and it is counted in the
    // same synchronous step as the check, so concurrent guesses cannot all pass the check first.
    // A sign-in turned away because the hasher is busy therefore counts as a failure too.
    this.options.signInGuard.recordFailure(normalized, address);

    let valid: boolean;
    try {
      valid = user
        ? await this.options.passwords.verify(user.password_hash, password, signal)
        : await this.options.passwords.verifyNothing(password, signal);
    } catch (error) {
      // The client has gone, so no one reads this reply. The attempt stays counted as failed.
      if (error instanceof PasswordCheckAbandoned)
        throw new OAuthError('temporarily_unavailable', error.message, 'client went away');
      if (error instanceof PasswordHasherBusy)
        throw new OAuthError(
          'temporarily_unavailable',
          error.message,
          'password hasher queue full',
        );
      throw error;
    }
    if (!user || !valid || user.status !== 'active') {
      return refuse(!user ? 'unknown_email' : !valid ? 'wrong_password' : 'user_disabled');
    }
    this.options.signInGuard.recordSuccess(normalized, address);

    const platform = await this.options.store.platforms.find(user.platform_id);
    if (!platform || platform.status === 'suspended') return refuse('platform_suspended');
    if (environment === 'production' && platform.status !== 'live') {
      const error = new OAuthError(
        'unauthorized_client',
        'This platform is not live yet, so its users cannot sign in on production. Use the staging token endpoint.',
        'platform_not_live',
      );
      return this.refuse(environment, grantType, actor, error, recorded);
    }
    const client = (await this.options.store.platforms.clientsOf(platform.id)).find(
      (c) => c.environment === environment,
    );
    const context = client ? await this.options.directory.client(client.client_id) : null;
    if (!context) return refuse('platform_not_boarded_in_environment');
    this.checkAddress(environment, grantType, actor, context);
    // The token names the user's platform client, so a client of another platform must not get it.
    if (authenticatedClientId !== undefined && authenticatedClientId !== context.clientId) {
      const error = new OAuthError(
        'unauthorized_client',
        "The authenticated client does not belong to the user's platform. Sign in without client credentials, or with those of the user's platform.",
        'user_of_another_platform',
      );
      return this.refuse(environment, grantType, actor, error, recorded);
    }

    const scope = this.scopeOrRefuse(
      environment,
      grantType,
      actor,
      requestedScope,
      context.modules,
    );
    const chain = {
      chainId: newChainId(),
      generation: 0,
      userId: user.id,
      authTime,
    };
    const response = await this.issue(environment, context, scope, chain, {
      user: { id: user.id, email: user.email, role: user.role },
    });
    this.emitIssued(environment, grantType, { ...actor, id: user.id }, context, user.id);
    return response;
  }

  /**
   * Open a refresh token and check everything it depends on, without consuming it. A refusal is
   * audited under `grantType`, the operation that presented the token.
   */
  private async checkRefreshToken(
    environment: Environment,
    token: string,
    actor: Actor,
    grantType: 'refresh_token' | 'introspect',
  ): Promise<{
    payload: RefreshTokenPayload;
    context: ClientContext;
    user?: { id: string; email: string; role: string };
  }> {
    const refuse = (detail: string, description = GENERIC_REFRESH_ERROR): never =>
      this.refuse(
        environment,
        grantType,
        actor,
        new OAuthError('invalid_grant', description, detail),
      );

    const belongsTo = refreshTokenEnvironment(token);
    if (belongsTo && belongsTo !== environment) {
      return refuse(
        'wrong_environment',
        `This refresh token belongs to the ${belongsTo} environment; use the ${belongsTo} token endpoint.`,
      );
    }
    const payload = openRefreshToken(this.options.refreshKeys[environment], environment, token);
    if (!payload) return refuse('malformed_or_forged');
    if (payload.expiresAt * 1000 <= this.now()) return refuse('expired');

    const context = await this.options.directory.client(payload.clientId);
    if (!context || context.platform.id !== payload.platformId) return refuse('unknown_client');
    if (context.platform.status === 'suspended') return refuse('platform_suspended');
    if (chainStartedBefore(payload.authTime, context.platform.sessions_revoked_at))
      return refuse('platform_sessions_revoked');
    if (
      payload.clientSecretId &&
      !(await this.options.clients.clientSecretLive(payload.clientId, payload.clientSecretId))
    ) {
      return refuse('client_secret_revoked');
    }

    if (!payload.userId) return { payload, context };
    const user = await this.options.directory.user(payload.userId);
    if (!user || user.status !== 'active' || user.platformId !== payload.platformId)
      return refuse('user_inactive');
    if (chainStartedBefore(payload.authTime, user.sessionsRevokedAt))
      return refuse('user_sessions_revoked');
    if (environment === 'production' && context.platform.status !== 'live')
      return refuse('platform_not_live');
    return { payload, context, user: { id: user.id, email: user.email, role: user.role } };
  }

  async refresh(
    environment: Environment,
    token: string,
    requestedScope: string | undefined,
    credentials: ClientCredentials | undefined,
    address: string,
  ): Promise<TokenResponse> {
    let actor: Actor = { kind: 'anonymous', id: 'refresh_token', address };
    if (credentials) {
      await this.authenticateClient(environment, credentials, 'refresh_token', {
        kind: 'client',
        id: credentials.clientId,
        address,
      });
      actor = { kind: 'client', id: credentials.clientId, address };
    }
    const { payload, context, user } = await this.checkRefreshToken(
      environment,
      token,
      actor,
      'refresh_token',
    );
    this.checkAddress(environment, 'refresh_token', actor, context);
    const refuse = (detail: string): never =>
      this.refuse(
        environment,
        'refresh_token',
        actor,
        new OAuthError('invalid_grant', GENERIC_REFRESH_ERROR, detail),
        {
          platformId: payload.platformId,
        },
      );
    if (credentials && credentials.clientId !== payload.clientId)
      return refuse('refresh_token_of_another_client');

    // Modules disabled since the chain began drop out of its scope; none can be added.
    const stillEnabled = payload.scope.filter((m) => context.modules.includes(m));
    const scope = this.scopeOrRefuse(
      environment,
      'refresh_token',
      actor,
      requestedScope,
      stillEnabled,
    );

    const owner = {
      chainId: payload.chainId,
      environment,
      platformId: payload.platformId,
      userId: payload.userId ?? null,
      expiresAt: (payload.expiresAt + this.options.refreshTtlSeconds) * 1000,
    };
    const state = await this.options.store.refreshChains.find(payload.chainId);
    const verdict = judgeRefresh(payload.generation, state, this.now());
    if (verdict.kind === 'reuse') {
      const event: DomainEvent = {
        type: 'refresh.reuse_detected',
        at: this.now(),
        actor,
        environment,
        platformId: payload.platformId,
        chainId: payload.chainId,
      };
      // The revocation and its audit row commit together, so a crash cannot leave a chain
      // revoked with no record of the reuse that ended it.
      await this.options.store.transaction(async (store) => {
        await store.refreshChains.revoke(owner, 'reuse_detected', event.at);
        reachFaultPoint('refresh.reuse.before-commit');
        await auditWithChange(store.audit, event);
      });
      reachFaultPoint('refresh.reuse.after-commit');
      this.options.events.emit(event);
      return refuse('reuse_detected_chain_revoked');
    }
    // Losing a race to a concurrent refresh of the same token is not reuse: the chain lives on
    // in the winner's new token, and this caller gets a plain invalid_grant.
    if (verdict.kind === 'lost-race') return refuse('lost_concurrent_refresh');
    if (verdict.kind !== 'consume')
      return refuse(verdict.kind === 'revoked' ? 'chain_revoked' : 'unknown_generation');
    if (!(await this.options.store.refreshChains.consume(owner, payload.generation, this.now())))
      return refuse('lost_concurrent_refresh');
    // The compare-and-set is the refresh's only write, so from here the chain has moved on.
    // NOTE: a process that dies before the response is sent loses the next token with it. The
    // presented token stays consumed, so the client must start a new chain.
    reachFaultPoint('refresh.after-consume');

    const { chainId, clientSecretId, userId, authTime } = payload;
    const next = {
      chainId,
      generation: payload.generation + 1,
      authTime,
      ...(clientSecretId ? { clientSecretId } : {}),
      ...(userId ? { userId } : {}),
    };
    const response = await this.issue(environment, context, scope, next, {
      ...(user ? { user } : {}),
      ...(clientSecretId ? { clientSecretId } : {}),
    });
    this.emitIssued(environment, 'refresh_token', actor, context, userId);
    return response;
  }

  /**
   * RFC 7009 revocation. Refresh tokens revoke their whole chain. A client that authenticated
   * may revoke only its own tokens; anything else, and any unknown token, is answered with
   * success and no effect, so the endpoint is no oracle.
   */
  async revoke(
    environment: Environment,
    token: string,
    credentials: ClientCredentials | undefined,
    address: string,
  ): Promise<void> {
    let actor: Actor = { kind: 'anonymous', id: 'revoke', address };
    let clientId: string | undefined;
    if (credentials) {
      clientId = (
        await this.authenticateClient(environment, credentials, 'revoke', {
          kind: 'client',
          id: credentials.clientId,
          address,
        })
      ).context.clientId;
      actor = { kind: 'client', id: clientId, address };
    }
    const payload = openRefreshToken(this.options.refreshKeys[environment], environment, token);
    if (payload) {
      if (clientId && clientId !== payload.clientId) return;
      const owner = {
        chainId: payload.chainId,
        environment,
        platformId: payload.platformId,
        userId: payload.userId ?? null,
        expiresAt: (payload.expiresAt + this.options.refreshTtlSeconds) * 1000,
      };
      await this.options.store.refreshChains.revoke(owner, 'revoked_by_client', this.now());
      this.options.events.emit({
        type: 'refresh.revoked',
        at: this.now(),
        actor,
        environment,
        platformId: payload.platformId,
        chainId: payload.chainId,
      });
      return;
    }
    const access = await this.options.accessTokens.verify(environment, token);
    if (access.ok && (!clientId || clientId === access.principal.clientId)) {
      throw new OAuthError(
        'unsupported_token_type',
        `Access tokens are stateless and expire by themselves within ${this.options.accessTokens.ttlSeconds} seconds; revoke the refresh token, or rotate the client secret to cut off its tokens.`,
      );
    }
  }

  /** RFC 7662 introspection for an authenticated client; another client's token reads as inactive. */
  async introspect(
    environment: Environment,
    token: string,
    credentials: ClientCredentials,
    address: string,
  ): Promise<Record<string, unknown>> {
    const { context } = await this.authenticateClient(environment, credentials, 'introspect', {
      kind: 'client',
      id: credentials.clientId,
      address,
    });
    const inactive = { active: false };

    const access = await this.options.accessTokens.verify(environment, token);
    if (access.ok) {
      return access.principal.clientId === context.clientId
        ? describeAccess(access.principal)
        : inactive;
    }
    const payload = openRefreshToken(this.options.refreshKeys[environment], environment, token);
    if (!payload || payload.clientId !== context.clientId) return inactive;
    try {
      const actor: Actor = { kind: 'client', id: context.clientId, address };
      await this.checkRefreshToken(environment, token, actor, 'introspect');
    } catch {
      return inactive;
    }
    const verdict = judgeRefresh(
      payload.generation,
      await this.options.store.refreshChains.find(payload.chainId),
    );
    if (verdict.kind !== 'consume') return inactive;
    return {
      active: true,
      token_type: 'refresh_token',
      client_id: payload.clientId,
      sub: payload.userId ?? payload.platformId,
      scope: formatScope(payload.scope),
      exp: payload.expiresAt,
      iat: payload.issuedAt,
      env: environment,
    };
  }
}

/**
 * Check whether a chain started at `authTime` predates a revocation at `revokedAt`, both in
 * epoch milliseconds. A tie counts as revoked, since which came first is unknown.
 */
function chainStartedBefore(authTime: number, revokedAt: number | null): boolean {
  return revokedAt !== null && authTime <= revokedAt;
}

function describeAccess(principal: AccessPrincipal): Record<string, unknown> {
  return {
    active: true,
    token_type: 'Bearer',
    client_id: principal.clientId,
    sub: principal.user?.id ?? principal.platformId,
    scope: formatScope(principal.scope),
    exp: principal.expiresAt,
    iat: principal.issuedAt,
    jti: principal.jti,
    env: principal.environment,
    platform: principal.platformId,
    ...(principal.user ? { email: principal.user.email, role: principal.user.role } : {}),
  };
}
