/**
 * Client authentication, shared by the token API and the gateway so that both apply the same
 * checks. Failures carry a private reason for logs and audit; callers show one generic error.
 */
import type { Environment } from '../domain/environment.js';
import { clientIdEnvironment } from '../domain/identifiers.js';
import { constantTimeEqual, hashSecret, parseSecret } from '../domain/secrets.js';
import type { ClientContext, Directory, StoredSecret } from './directory.js';
import type { UsageRecorder } from './usage.js';

export type ClientAuthFailure =
  | {
      ok: false;
      reason: 'malformed_client_id' | 'unknown_client' | 'malformed_secret' | 'wrong_secret';
    }
  | { ok: false; reason: 'wrong_environment'; belongsTo: Environment }
  | { ok: false; reason: 'platform_suspended'; context: ClientContext };

export type ClientAuthResult =
  | { ok: true; context: ClientContext; secretId: string }
  | ClientAuthFailure;

export type SecretCheck =
  | { ok: true; secretId: string }
  | {
      ok: false;
      reason: 'missing' | 'malformed' | 'wrong_environment' | 'wrong_secret';
      belongsTo?: Environment;
    };

export class ClientAuthenticator {
  constructor(
    private readonly directory: Directory,
    private readonly usage: UsageRecorder,
    private readonly hashKey: Buffer,
    private readonly now: () => number = Date.now,
  ) {}

  /** Find the live secret among `candidates` whose hash is `digest`, comparing in constant time. */
  private match(candidates: StoredSecret[], digest: string): StoredSecret | undefined {
    const now = this.now();
    let found: StoredSecret | undefined;
    // Every candidate is compared, so the time taken does not depend on which one matches.
    for (const candidate of candidates) {
      const live = candidate.expiresAt === null || candidate.expiresAt > now;
      if (constantTimeEqual(candidate.hash, digest) && live) found = candidate;
    }
    return found;
  }

  async authenticate(
    environment: Environment,
    clientId: string,
    clientSecret: string,
  ): Promise<ClientAuthResult> {
    const idEnvironment = clientIdEnvironment(clientId);
    if (!idEnvironment) return { ok: false, reason: 'malformed_client_id' };
    const parsed = parseSecret(clientSecret);
    if (idEnvironment !== environment)
      return { ok: false, reason: 'wrong_environment', belongsTo: idEnvironment };
    if (!parsed || parsed.kind !== 'client') return { ok: false, reason: 'malformed_secret' };
    if (parsed.environment !== environment) {
      return { ok: false, reason: 'wrong_environment', belongsTo: parsed.environment };
    }

    // Hashed before the lookup, so that an unknown client id costs the same as a wrong secret.
    const digest = hashSecret(this.hashKey, clientSecret);
    const context = await this.directory.client(clientId);
    if (!context || context.environment !== environment)
      return { ok: false, reason: 'unknown_client' };
    const secret = this.match(
      context.secrets.filter((s) => s.kind === 'client'),
      digest,
    );
    if (!secret) return { ok: false, reason: 'wrong_secret' };
    if (context.platform.status === 'suspended')
      return { ok: false, reason: 'platform_suspended', context };

    this.usage.record(secret.id, this.now());
    return { ok: true, context, secretId: secret.id };
  }

  /** Check a module or provider secret presented for `moduleId`. */
  checkModuleSecret(
    context: ClientContext,
    kind: 'module' | 'provider',
    moduleId: string,
    presented: string | undefined,
  ): SecretCheck {
    if (presented === undefined || presented === '') return { ok: false, reason: 'missing' };
    const parsed = parseSecret(presented);
    if (!parsed || parsed.kind !== kind) return { ok: false, reason: 'malformed' };
    if (parsed.environment !== context.environment) {
      return { ok: false, reason: 'wrong_environment', belongsTo: parsed.environment };
    }
    const candidates = context.secrets.filter((s) => s.kind === kind && s.moduleId === moduleId);
    const secret = this.match(candidates, hashSecret(this.hashKey, presented));
    if (!secret) return { ok: false, reason: 'wrong_secret' };
    this.usage.record(secret.id, this.now());
    return { ok: true, secretId: secret.id };
  }

  /** Whether a client secret is still live; refresh chains depend on the secret that started them. */
  async clientSecretLive(clientId: string, secretId: string): Promise<boolean> {
    const context = await this.directory.client(clientId);
    const now = this.now();
    return Boolean(
      context?.secrets.some(
        (s) =>
          s.id === secretId && s.kind === 'client' && (s.expiresAt === null || s.expiresAt > now),
      ),
    );
  }
}
