/**
 * Cached views of clients and users, used on every token request and gateway call so that
 * neither reads the database on the hot path. Entries live at most `cacheTtlMs` (default 2 s),
 * which bounds how stale a view may be on a node that missed an invalidation; on the node
 * where a change is made, the change's event invalidates the entry at once.
 */
import { compileAllowlist } from '../domain/allowlist.js';
import type { Environment } from '../domain/environment.js';
import type { Store } from '../store/index.js';
import type { PlatformRow } from '../store/platforms.js';
import { BoundedCache } from './cache.js';
import type { EventBus } from './events.js';

export interface StoredSecret {
  id: string;
  kind: 'client' | 'module' | 'provider';
  moduleId: string | null;
  hash: string;
  expiresAt: number | null;
}

/** Everything needed to authenticate a client and authorize its calls in one environment. */
export interface ClientContext {
  clientId: string;
  environment: Environment;
  platform: Pick<PlatformRow, 'id' | 'name' | 'status' | 'sessions_revoked_at'>;
  modules: string[];
  secrets: StoredSecret[];
  /** Matches client addresses against the allowlist; absent when every address is allowed. */
  allows?: (address: string) => boolean;
  /** Per-platform overrides; null means the configured default. */
  limits: { accessTokenTtl: number | null; rateLimitPerMinute: number | null };
}

export interface UserContext {
  id: string;
  platformId: string;
  email: string;
  role: 'owner' | 'developer' | 'viewer';
  status: 'active' | 'disabled';
  sessionsRevokedAt: number | null;
}

export class Directory {
  private readonly clients: BoundedCache<string, ClientContext | null>;
  private readonly users: BoundedCache<string, UserContext | null>;

  constructor(
    private readonly store: Store,
    options: { ttlMs: number; maxEntries?: number },
  ) {
    const maxEntries = options.maxEntries ?? 50_000;
    // While the database is unreachable, views up to ten minutes old keep calls working.
    const maxStaleMs = 10 * 60 * 1000;
    this.clients = new BoundedCache({ maxEntries, ttlMs: options.ttlMs, maxStaleMs });
    this.users = new BoundedCache({ maxEntries, ttlMs: options.ttlMs, maxStaleMs });
  }

  /** Drop cached views whenever an event changes what they hold. */
  listen(events: EventBus): void {
    const dropPlatform = (event: { platformId: string }) => this.forgetPlatform(event.platformId);
    events.on('platform.suspended', dropPlatform);
    events.on('platform.resumed', dropPlatform);
    events.on('credential.issued', dropPlatform);
    events.on('credential.revoked', dropPlatform);
    events.on('credential.rotated', dropPlatform);
    events.on('module.enabled', dropPlatform);
    events.on('module.disabled', dropPlatform);
    events.on('allowlist.updated', dropPlatform);
    events.on('limits.updated', dropPlatform);
    events.on('platform.live', dropPlatform);
    events.on('user.enabled', (event) => this.users.delete(event.userId));
    events.on('user.disabled', (event) => this.users.delete(event.userId));
    events.on('user.password_changed', (event) => this.users.delete(event.userId));
  }

  forgetPlatform(_platformId: string): void {
    // Client contexts are keyed by client id; a platform has at most two, so clearing all is
    // simpler than an index and costs one reload per active client.
    this.clients.clear();
  }

  forgetUser(userId: string): void {
    this.users.delete(userId);
  }

  client(clientId: string): Promise<ClientContext | null> {
    return this.clients.get(clientId, (id) => this.loadClient(id));
  }

  user(userId: string): Promise<UserContext | null> {
    return this.users.get(userId, (id) => this.loadUser(id));
  }

  private async loadClient(clientId: string): Promise<ClientContext | null> {
    const client = await this.store.platforms.findClient(clientId);
    if (!client) return null;
    const [platform, modules, secrets, allowlist] = await Promise.all([
      this.store.platforms.find(client.platform_id),
      this.store.platforms.enabledModules(client.platform_id, client.environment),
      this.store.secrets.activeFor(clientId, Date.now()),
      this.store.allowlists.get(client.platform_id, client.environment),
    ]);
    if (!platform) return null;
    const allows = compileAllowlist(allowlist);
    return {
      ...(allows ? { allows } : {}),
      limits: {
        accessTokenTtl: platform.access_token_ttl,
        rateLimitPerMinute: platform.rate_limit_per_minute,
      },
      clientId,
      environment: client.environment as Environment,
      platform: {
        id: platform.id,
        name: platform.name,
        status: platform.status,
        sessions_revoked_at: platform.sessions_revoked_at,
      },
      modules,
      secrets: secrets.map((s) => ({
        id: s.id,
        kind: s.kind,
        moduleId: s.module_id,
        hash: s.secret_hash,
        expiresAt: s.expires_at,
      })),
    };
  }

  private async loadUser(userId: string): Promise<UserContext | null> {
    const user = await this.store.users.find(userId);
    if (!user) return null;
    return {
      id: user.id,
      platformId: user.platform_id,
      email: user.email,
      role: user.role,
      status: user.status,
      sessionsRevokedAt: user.sessions_revoked_at,
    };
  }
}
