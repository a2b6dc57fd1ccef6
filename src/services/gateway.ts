/**
 * Authorization of gateway calls. Both authentication methods resolve to the same principal
 * (platform, environment, module), then pass the same checks in the same order: environment,
 * suspension, module enabled, module and provider secrets.
 */
import { decodeJwt } from 'jose';
import type { Environment } from '../domain/environment.js';
import { ApiError } from '../domain/errors.js';
import type { AccessTokens } from './access-tokens.js';
import { BoundedCache } from './cache.js';
import type { ClientAuthenticator } from './client-auth.js';
import type { ClientContext, Directory } from './directory.js';
import type { Keyring } from './keyring.js';
import type { Module } from './modules.js';

export type PresentedCredential =
  | { method: 'client_secret'; clientId: string; clientSecret: string }
  | { method: 'jwt'; token: string };

export interface CallPrincipal {
  environment: Environment;
  platformId: string;
  clientId: string;
  moduleId: string;
  authMethod: 'client_secret' | 'jwt';
  user?: { id: string; email: string; role: string };
  /** The platform's own gateway rate limit, when it has one. */
  rateLimitPerMinute: number | null;
}

export interface CallSecrets {
  moduleSecret: string | undefined;
  providerSecret: string | undefined;
}

export const ASSERTION_TYPE = 'gatepass-assertion+jwt';

function otherListener(environment: Environment): string {
  return `Send ${environment} credentials to the ${environment} listener.`;
}

function platformSuspended(platformId: string): ApiError {
  const error = new ApiError(
    'platform_suspended',
    'This platform is suspended; contact the API provider.',
  );
  // The platform is known, so the rejection goes to its request log.
  error.platformId = platformId;
  return error;
}

export class GatewayService {
  private readonly assertions = new BoundedCache<string, { token: string; expiresAt: number }>({
    maxEntries: 20_000,
    ttlMs: 60_000,
  });

  constructor(
    private readonly clients: ClientAuthenticator,
    private readonly accessTokens: AccessTokens,
    private readonly directory: Directory,
    private readonly keyrings: Record<Environment, Keyring>,
    private readonly settings: {
      issuer: Record<Environment, string>;
      assertionTtlSeconds: number;
      /** Names of the headers that carry module and provider secrets, for error messages. */
      secretHeaders: { module: string; provider: string };
    },
    private readonly now: () => number = Date.now,
  ) {}

  private async authenticate(
    environment: Environment,
    credential: PresentedCredential,
  ): Promise<{
    context: ClientContext;
    principal: Omit<CallPrincipal, 'moduleId' | 'rateLimitPerMinute'>;
    scope?: string[];
  }> {
    if (credential.method === 'client_secret') {
      const result = await this.clients.authenticate(
        environment,
        credential.clientId,
        credential.clientSecret,
      );
      if (result.ok) {
        const principal = {
          environment,
          platformId: result.context.platform.id,
          clientId: credential.clientId,
          authMethod: 'client_secret' as const,
        };
        return { context: result.context, principal };
      }
      if (result.reason === 'wrong_environment') {
        throw new ApiError(
          'wrong_environment',
          `These credentials belong to the ${result.belongsTo} environment, not ${environment}. ${otherListener(result.belongsTo)}`,
        );
      }
      if (result.reason === 'platform_suspended')
        throw platformSuspended(result.context.platform.id);
      throw new ApiError(
        'invalid_credentials',
        'The client id or client secret is invalid. Check both values for this environment.',
        result.reason,
      );
    }

    const verified = await this.accessTokens.verify(environment, credential.token);
    if (!verified.ok) {
      if (verified.reason === 'platform_sessions_revoked')
        await this.rejectIfSuspended(credential.token);
      const message =
        verified.reason === 'wrong_environment'
          ? `The access token was issued for the ${verified.belongsTo} environment, not ${environment}. ${otherListener(verified.belongsTo ?? environment)}`
          : verified.reason === 'expired'
            ? 'The access token has expired; request a new one from the token API.'
            : 'The access token is invalid; request a new one from the token API.';
      throw new ApiError('invalid_token', message, verified.reason);
    }
    const { principal: token } = verified;
    const context = await this.directory.client(token.clientId);
    if (!context)
      throw new ApiError(
        'invalid_token',
        'The access token is invalid; request a new one from the token API.',
        'unknown_client',
      );
    if (context.platform.status === 'suspended') throw platformSuspended(context.platform.id);
    const principal = {
      environment,
      platformId: token.platformId,
      clientId: token.clientId,
      authMethod: 'jwt' as const,
      ...(token.user ? { user: token.user } : {}),
    };
    return { context, principal, scope: token.scope };
  }

  /**
   * Throw `platform_suspended` when the platform of a token rejected for revoked sessions is
   * suspended. Suspension also revokes the platform's sessions, so without this check a token
   * from the same second as the suspension would get 403 and an older one 401.
   */
  private async rejectIfSuspended(token: string): Promise<void> {
    // The signature was verified before sessions were checked, so the claims can be trusted.
    const clientId = decodeJwt(token).client_id;
    if (typeof clientId !== 'string') return;
    const context = await this.directory.client(clientId);
    if (context?.platform.status === 'suspended') throw platformSuspended(context.platform.id);
  }

  private checkSecret(
    context: ClientContext,
    kind: 'module' | 'provider',
    module: Module,
    presented: string | undefined,
  ): void {
    const check = this.clients.checkModuleSecret(context, kind, module.id, presented);
    if (check.ok) return;
    const header = kind === 'module' ? 'module secret' : 'provider secret';
    if (check.reason === 'missing') {
      throw new ApiError(
        kind === 'module' ? 'missing_module_secret' : 'missing_provider_secret',
        `The ${module.id} module needs its ${header}; send it in the ${this.settings.secretHeaders[kind]} header.`,
      );
    }
    if (check.reason === 'wrong_environment') {
      throw new ApiError(
        'wrong_environment',
        `The ${header} belongs to the ${check.belongsTo} environment, not ${context.environment}.`,
      );
    }
    throw new ApiError(
      kind === 'module' ? 'invalid_module_secret' : 'invalid_provider_secret',
      `The ${header} is invalid for the ${module.id} module in ${context.environment}.`,
      check.reason,
    );
  }

  /** Authorize a call to `module` on `environment`'s listener, or throw the ApiError to answer with. */
  async authorize(
    environment: Environment,
    module: Module,
    credential: PresentedCredential,
    secrets: CallSecrets,
    address: string,
  ): Promise<CallPrincipal> {
    const { context, principal, scope } = await this.authenticate(environment, credential);
    try {
      this.checkModule(environment, module, context, scope, secrets, address);
    } catch (error) {
      // The platform is known by now, so the refusal can go to its request log.
      if (error instanceof ApiError) error.platformId = context.platform.id;
      throw error;
    }
    return {
      ...principal,
      moduleId: module.id,
      rateLimitPerMinute: context.limits.rateLimitPerMinute,
    };
  }

  private checkModule(
    environment: Environment,
    module: Module,
    context: ClientContext,
    scope: string[] | undefined,
    secrets: CallSecrets,
    address: string,
  ): void {
    if (!context.modules.includes(module.id)) {
      throw new ApiError(
        'module_not_enabled',
        `The ${module.id} module is not enabled for this platform in ${environment}; ask the API provider to enable it.`,
      );
    }
    if (scope && !scope.includes(module.id)) {
      throw new ApiError(
        'module_not_in_scope',
        `The access token's scope does not include ${module.id}; request a token with scope "${module.id}".`,
      );
    }
    if (context.allows && !context.allows(address)) {
      throw new ApiError(
        'address_not_allowed',
        `Calls from ${address} are not allowed for this platform in ${environment}; ask the API provider to add the address to its allowlist.`,
      );
    }
    this.checkSecret(context, 'module', module, secrets.moduleSecret);
    if (module.requiresProviderSecret)
      this.checkSecret(context, 'provider', module, secrets.providerSecret);
  }

  /**
   * A short-lived JWT for the upstream that states who is calling; the upstream can check it
   * against the environment's JWKS. One is cached per principal and renewed once half its
   * lifetime has passed, so calls do not pay for a signature each.
   */
  async assertion(principal: CallPrincipal): Promise<string> {
    const key = `${principal.environment}|${principal.platformId}|${principal.moduleId}|${principal.authMethod}|${principal.user?.id ?? ''}`;
    const nowSeconds = Math.floor(this.now() / 1000);
    const ttl = this.settings.assertionTtlSeconds;
    const cached = this.assertions.peek(key);
    if (cached && cached.expiresAt - nowSeconds > ttl / 2) return cached.token;

    const claims = {
      iss: this.settings.issuer[principal.environment],
      aud: principal.moduleId,
      sub: principal.user?.id ?? principal.platformId,
      iat: nowSeconds,
      nbf: nowSeconds,
      exp: nowSeconds + ttl,
      env: principal.environment,
      platform: principal.platformId,
      client_id: principal.clientId,
      module: principal.moduleId,
      auth_method: principal.authMethod,
      ...(principal.user ? { email: principal.user.email, role: principal.user.role } : {}),
    };
    const token = await this.keyrings[principal.environment].sign(claims, ASSERTION_TYPE);
    this.assertions.set(key, { token, expiresAt: nowSeconds + ttl }, (ttl / 2) * 1000);
    return token;
  }
}
