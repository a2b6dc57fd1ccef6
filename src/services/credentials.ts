/**
 * Credential use cases after boarding: issuing secrets, rotation with an overlap, revocation,
 * and enabling or disabling a module for a platform. Every secret is shown once and stored as
 * a keyed hash.
 */
import type { Environment } from '../domain/environment.js';
import { ApiError } from '../domain/errors.js';
import type { Actor, DomainEvent } from '../domain/events.js';
import { newSecretId } from '../domain/identifiers.js';
import { generateSecret, hashSecret, type SecretKind, secretHint } from '../domain/secrets.js';
import type { Store } from '../store/index.js';
import { auditWithChange } from './audit.js';
import type { EventBus } from './events.js';
import { reachFaultPoint } from './fault-points.js';
import type { ModuleRegistry } from './modules.js';

export interface SecretOwner {
  platformId: string;
  clientId: string;
  environment: Environment;
}

/** Longest rotation overlap, in seconds: 30 days. */
export const MAX_OVERLAP_SECONDS = 30 * 24 * 3600;

/** Store a new secret's hash and return the secret itself, to be shown once. */
export async function issueSecret(
  store: Store,
  hashKey: Buffer,
  owner: SecretOwner,
  kind: SecretKind,
  moduleId: string | null,
  at: number,
): Promise<{ id: string; secret: string }> {
  const secret = generateSecret(kind, owner.environment);
  const id = newSecretId();
  await store.secrets.insert({
    id,
    platform_id: owner.platformId,
    client_id: owner.clientId,
    environment: owner.environment,
    kind,
    module_id: moduleId,
    secret_hash: hashSecret(hashKey, secret),
    hint: secretHint(secret),
    created_at: at,
    expires_at: null,
    revoked_at: null,
    last_used_at: null,
  });
  return { id, secret };
}

/**
 * Lock a platform's row until the caller's transaction ends. Returns false when no platform has
 * the id. The no-op update takes the row lock on PostgreSQL and the write lock on SQLite. So
 * concurrent rotations, module changes and approvals of one platform run one after another,
 * each reading what the previous one committed.
 */
export async function lockPlatform(store: Store, platformId: string): Promise<boolean> {
  const result = await store.db
    .updateTable('platforms')
    .set((eb) => ({ updated_at: eb.ref('updated_at') }))
    .where('id', '=', platformId)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

export interface RotateRequest {
  platformId: string;
  environment: Environment;
  kind: SecretKind;
  moduleId?: string | undefined;
  overlapSeconds: number;
}

export interface RotateResult {
  secret_id: string;
  kind: SecretKind;
  module_id: string | null;
  environment: Environment;
  /** The new secret, shown once. */
  secret: string;
  replaced_secret_id: string;
  /** When the replaced secret stops working, epoch milliseconds. */
  replaced_expires_at: number;
}

export class CredentialService {
  constructor(
    private readonly store: Store,
    private readonly modules: ModuleRegistry,
    private readonly events: EventBus,
    private readonly hashKey: Buffer,
    private readonly now: () => number = Date.now,
  ) {}

  private async client(store: Store, platformId: string, environment: Environment) {
    const client = await store.platforms.findClientFor(platformId, environment);
    if (!client) {
      const platform = await store.platforms.find(platformId);
      if (!platform) throw new ApiError('not_found', `No platform has the id "${platformId}".`);
      throw new ApiError(
        'not_found',
        `Platform ${platformId} has no ${environment} credentials yet.`,
      );
    }
    return client;
  }

  /**
   * Issue a new secret of one kind and let the current one work for `overlapSeconds` more. A
   * secret still in an earlier overlap is revoked at once, so at most two are ever active.
   */
  async rotate(request: RotateRequest, actor: Actor): Promise<RotateResult> {
    const { platformId, environment, kind, overlapSeconds } = request;
    if (
      !Number.isInteger(overlapSeconds) ||
      overlapSeconds < 0 ||
      overlapSeconds > MAX_OVERLAP_SECONDS
    ) {
      throw new ApiError(
        'invalid_request',
        `The overlap must be a whole number of seconds from 0 to ${MAX_OVERLAP_SECONDS}.`,
      );
    }
    const moduleId = kind === 'client' ? null : (request.moduleId ?? null);
    if (kind !== 'client' && !moduleId)
      throw new ApiError('invalid_request', `Rotating a ${kind} secret needs the module id.`);
    const at = this.now();
    const expiresAt = at + overlapSeconds * 1000;

    const result = await this.store.transaction(async (store) => {
      await lockPlatform(store, platformId);
      // Sealed credentials still waiting for an owner would no longer match the live set.
      await store.credentialReveals.delete(platformId, environment);
      const client = await this.client(store, platformId, environment);
      const active = (await store.secrets.activeFor(client.client_id, at)).filter(
        (s) => s.kind === kind && s.module_id === moduleId,
      );
      const current = active.find((s) => s.expires_at === null) ?? active[active.length - 1];
      if (!current) {
        const what = moduleId ? `${kind} secret of module ${moduleId}` : `${kind} secret`;
        throw new ApiError(
          'not_found',
          `Platform ${platformId} has no active ${what} in ${environment} to rotate.`,
        );
      }
      for (const older of active)
        if (older.id !== current.id) await store.secrets.revoke(older.id, at);
      if (overlapSeconds === 0) await store.secrets.revoke(current.id, at);
      else await store.secrets.setExpiry(current.id, expiresAt);
      const owner = { platformId, clientId: client.client_id, environment };
      const issued = await issueSecret(store, this.hashKey, owner, kind, moduleId, at);
      const event: DomainEvent = {
        type: 'credential.rotated',
        at,
        actor,
        platformId,
        environment,
        secretId: issued.id,
        replacedSecretId: current.id,
        kind,
        ...(moduleId ? { moduleId } : {}),
        overlapSeconds,
      };
      // The audit row commits with the new secret and the old one's expiry, so a crash cannot
      // leave a secret that the audit log does not know of.
      await auditWithChange(store.audit, event);
      reachFaultPoint('rotate.before-commit');
      return { issued, replaced: current.id, event };
    });

    reachFaultPoint('rotate.after-commit');
    this.events.emit(result.event);
    return {
      secret_id: result.issued.id,
      kind,
      module_id: moduleId,
      environment,
      secret: result.issued.secret,
      replaced_secret_id: result.replaced,
      replaced_expires_at: expiresAt,
    };
  }

  /** Revoke one secret at once. Refresh tokens that depend on it stop working too. */
  async revoke(secretId: string, actor: Actor): Promise<void> {
    const secret = await this.store.secrets.find(secretId);
    if (!secret) throw new ApiError('not_found', `No secret has the id "${secretId}".`);
    const at = this.now();
    if (!(await this.store.secrets.revoke(secretId, at))) {
      throw new ApiError('conflict', `Secret ${secretId} was already revoked.`);
    }
    // Sealed credentials still waiting for an owner would include the revoked secret.
    await this.store.credentialReveals.delete(secret.platform_id, secret.environment);
    this.events.emit({
      type: 'credential.revoked',
      at,
      actor,
      platformId: secret.platform_id,
      environment: secret.environment as Environment,
      secretId,
      kind: secret.kind,
      ...(secret.module_id ? { moduleId: secret.module_id } : {}),
    });
  }

  /**
   * Enable a module for a platform in every environment it has credentials for, issuing the
   * module's secrets there. Returns the new secrets per environment, shown once.
   */
  async enableModule(platformId: string, moduleId: string, actor: Actor) {
    const module = this.modules.get(moduleId);
    if (!module)
      throw new ApiError(
        'invalid_request',
        `Unknown module "${moduleId}". Available modules: ${this.modules.ids().join(', ')}.`,
      );
    const at = this.now();
    const issued = await this.store.transaction(async (store) => {
      await lockPlatform(store, platformId);
      const clients = await store.platforms.clientsOf(platformId);
      if (clients.length === 0)
        throw new ApiError('not_found', `No platform has the id "${platformId}".`);
      const result: Array<{
        environment: Environment;
        module_secret: string;
        provider_secret?: string;
        secretIds: string[];
      }> = [];
      for (const client of clients) {
        const environment = client.environment as Environment;
        if ((await store.platforms.enabledModules(platformId, environment)).includes(moduleId)) {
          throw new ApiError(
            'conflict',
            `Module ${moduleId} is already enabled for platform ${platformId} in ${environment}.`,
          );
        }
        await store.platforms.enableModule(platformId, environment, moduleId, at);
        // Sealed credentials still waiting for an owner would lack the new module's secrets.
        await store.credentialReveals.delete(platformId, environment);
        const owner = { platformId, clientId: client.client_id, environment };
        const moduleSecret = await issueSecret(store, this.hashKey, owner, 'module', moduleId, at);
        const entry: (typeof result)[number] = {
          environment,
          module_secret: moduleSecret.secret,
          secretIds: [moduleSecret.id],
        };
        if (module.requiresProviderSecret) {
          const provider = await issueSecret(store, this.hashKey, owner, 'provider', moduleId, at);
          entry.provider_secret = provider.secret;
          entry.secretIds.push(provider.id);
        }
        result.push(entry);
      }
      return result;
    });
    for (const entry of issued) {
      this.events.emit({
        type: 'module.enabled',
        at,
        actor,
        platformId,
        environment: entry.environment,
        moduleId,
      });
    }
    return issued.map(({ secretIds: _ids, ...rest }) => ({ module: moduleId, ...rest }));
  }

  /** Disable a module in every environment and revoke its secrets at once. */
  async disableModule(platformId: string, moduleId: string, actor: Actor): Promise<void> {
    const at = this.now();
    const environments = await this.store.transaction(async (store) => {
      const changed = await store.platforms.disableModule(platformId, moduleId, at);
      if (changed.length === 0) {
        throw new ApiError(
          'not_found',
          `Module ${moduleId} is not enabled for platform ${platformId}.`,
        );
      }
      await store.secrets.revokeModule(platformId, moduleId, at);
      // Sealed credentials still waiting for an owner would include the revoked secrets.
      for (const environment of changed)
        await store.credentialReveals.delete(platformId, environment);
      return changed;
    });
    for (const environment of environments) {
      this.events.emit({
        type: 'module.disabled',
        at,
        actor,
        platformId,
        environment: environment as Environment,
        moduleId,
      });
    }
  }
}
