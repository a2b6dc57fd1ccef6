/**
 * Platform use cases: boarding onto staging with chosen modules, listing, showing, suspending
 * and resuming. Every secret is generated here, returned once, and stored only as a keyed hash.
 */
import type { Environment } from '../domain/environment.js';
import { ApiError } from '../domain/errors.js';
import type { Actor } from '../domain/events.js';
import { newClientId, newPlatformId } from '../domain/identifiers.js';
import type { Store } from '../store/index.js';
import type { PlatformRow } from '../store/platforms.js';
import { issueSecret } from './credentials.js';
import type { EventBus } from './events.js';
import type { ModuleRegistry } from './modules.js';

/** Credentials of one environment, as shown once when they are issued. */
export interface IssuedCredentials {
  environment: Environment;
  client_id: string;
  client_secret: string;
  modules: Record<string, { module_secret: string; provider_secret?: string }>;
}

export interface BoardingResult extends IssuedCredentials {
  platform: { id: string; name: string; status: PlatformRow['status'] };
}

export interface PlatformDetails {
  platform: PlatformRow;
  environments: Array<{
    environment: Environment;
    client_id: string;
    modules: string[];
    secrets: Array<{
      id: string;
      kind: string;
      module_id: string | null;
      hint: string;
      created_at: number;
      expires_at: number | null;
      revoked_at: number | null;
      last_used_at: number | null;
    }>;
  }>;
  users: Array<{ id: string; email: string; role: string; status: string }>;
}

export class PlatformService {
  constructor(
    private readonly store: Store,
    private readonly modules: ModuleRegistry,
    private readonly events: EventBus,
    private readonly hashKey: Buffer,
    private readonly now: () => number = Date.now,
  ) {}

  private checkModules(requested: string[]): string[] {
    const unique = [...new Set(requested.map((m) => m.trim()).filter((m) => m !== ''))];
    if (unique.length === 0)
      throw new ApiError(
        'invalid_request',
        'Choose at least one module, for example --modules demo.',
      );
    const unknown = unique.filter((id) => !this.modules.get(id));
    if (unknown.length > 0) {
      throw new ApiError(
        'invalid_request',
        `Unknown module ${unknown.map((m) => `"${m}"`).join(', ')}. Available modules: ${this.modules.ids().join(', ')}.`,
      );
    }
    return unique.sort();
  }

  /**
   * Issue a client id, a client secret and each module's secrets for one environment, inside
   * the caller's transaction. Returns the secrets and the ids of their stored hashes.
   */
  async issueEnvironment(
    store: Store,
    platformId: string,
    environment: Environment,
    moduleIds: string[],
  ): Promise<{
    credentials: IssuedCredentials;
    secretIds: Array<{ id: string; kind: string; moduleId?: string }>;
  }> {
    const clientId = newClientId(environment);
    const at = this.now();
    await store.platforms.insertClient({
      client_id: clientId,
      platform_id: platformId,
      environment,
      created_at: at,
    });
    const owner = { platformId, clientId, environment };
    const client = await issueSecret(store, this.hashKey, owner, 'client', null, at);
    const secretIds: Array<{ id: string; kind: string; moduleId?: string }> = [
      { id: client.id, kind: 'client' },
    ];
    const credentials: IssuedCredentials = {
      environment,
      client_id: clientId,
      client_secret: client.secret,
      modules: {},
    };

    for (const moduleId of moduleIds) {
      await store.platforms.enableModule(platformId, environment, moduleId, at);
      const moduleSecret = await issueSecret(store, this.hashKey, owner, 'module', moduleId, at);
      secretIds.push({ id: moduleSecret.id, kind: 'module', moduleId });
      const entry: { module_secret: string; provider_secret?: string } = {
        module_secret: moduleSecret.secret,
      };
      if (this.modules.get(moduleId)?.requiresProviderSecret) {
        const provider = await issueSecret(store, this.hashKey, owner, 'provider', moduleId, at);
        secretIds.push({ id: provider.id, kind: 'provider', moduleId });
        entry.provider_secret = provider.secret;
      }
      credentials.modules[moduleId] = entry;
    }
    return { credentials, secretIds };
  }

  /** Board a platform onto staging with its chosen modules, in one transaction. */
  async board(name: string, moduleIds: string[], actor: Actor): Promise<BoardingResult> {
    const trimmed = name.trim();
    if (trimmed === '' || trimmed.length > 200) {
      throw new ApiError('invalid_request', 'The platform name must be 1 to 200 characters long.');
    }
    const modules = this.checkModules(moduleIds);
    const platformId = newPlatformId();
    const at = this.now();

    const issued = await this.store.transaction(async (store) => {
      await store.platforms.insert({
        id: platformId,
        name: trimmed,
        status: 'staging',
        created_at: at,
        updated_at: at,
        sessions_revoked_at: null,
        access_token_ttl: null,
        rate_limit_per_minute: null,
      });
      return this.issueEnvironment(store, platformId, 'staging', modules);
    });

    this.events.emit({ type: 'platform.boarded', at, actor, platformId, name: trimmed, modules });
    this.announceIssued(platformId, 'staging', issued.secretIds, actor, at);
    return {
      platform: { id: platformId, name: trimmed, status: 'staging' },
      ...issued.credentials,
    };
  }

  /** Emit one `credential.issued` event per secret issued for an environment. */
  announceIssued(
    platformId: string,
    environment: Environment,
    secretIds: Array<{ id: string; kind: string; moduleId?: string }>,
    actor: Actor,
    at: number,
  ): void {
    for (const secret of secretIds) {
      this.events.emit({
        type: 'credential.issued',
        at,
        actor,
        platformId,
        environment,
        secretId: secret.id,
        kind: secret.kind,
        ...(secret.moduleId ? { moduleId: secret.moduleId } : {}),
      });
    }
  }

  list(): Promise<PlatformRow[]> {
    return this.store.platforms.list();
  }

  async show(platformId: string): Promise<PlatformDetails> {
    const platform = await this.store.platforms.find(platformId);
    if (!platform)
      throw new ApiError(
        'not_found',
        `No platform has the id "${platformId}". List platforms with: gatepass platforms list`,
      );
    const [clients, secrets, users] = await Promise.all([
      this.store.platforms.clientsOf(platformId),
      this.store.secrets.listFor(platformId),
      this.store.users.listFor(platformId),
    ]);
    const environments = [];
    for (const client of clients) {
      const environment = client.environment as Environment;
      environments.push({
        environment,
        client_id: client.client_id,
        modules: await this.store.platforms.enabledModules(platformId, environment),
        secrets: secrets
          .filter((s) => s.client_id === client.client_id)
          .map((s) => ({
            id: s.id,
            kind: s.kind,
            module_id: s.module_id,
            hint: s.hint,
            created_at: s.created_at,
            expires_at: s.expires_at,
            revoked_at: s.revoked_at,
            last_used_at: s.last_used_at,
          })),
      });
    }
    return {
      platform,
      environments,
      users: users.map((u) => ({ id: u.id, email: u.email, role: u.role, status: u.status })),
    };
  }

  /** Suspend a platform: its calls and tokens stop at once, and its refresh tokens die for good. */
  async suspend(platformId: string, actor: Actor): Promise<void> {
    const at = this.now();
    if (!(await this.store.platforms.setStatus(platformId, 'suspended', at, true))) {
      throw new ApiError('not_found', `No platform has the id "${platformId}".`);
    }
    this.events.emit({ type: 'platform.suspended', at, actor, platformId });
  }

  /** Resume a suspended platform as live if it has production credentials, else as staging. */
  async resume(platformId: string, actor: Actor): Promise<PlatformRow['status']> {
    const platform = await this.store.platforms.find(platformId);
    if (!platform) throw new ApiError('not_found', `No platform has the id "${platformId}".`);
    // Resuming an active platform would change nothing but still write a misleading audit row.
    if (platform.status !== 'suspended') {
      throw new ApiError(
        'conflict',
        `Platform ${platformId} is not suspended; its status is ${platform.status}.`,
      );
    }
    const clients = await this.store.platforms.clientsOf(platformId);
    const status = clients.some((c) => c.environment === 'production') ? 'live' : 'staging';
    const at = this.now();
    await this.store.platforms.setStatus(platformId, status, at, false);
    this.events.emit({ type: 'platform.resumed', at, actor, platformId });
    return status;
  }
}
