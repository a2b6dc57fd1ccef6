/** Per-platform access policy: IP allowlists per environment, token lifetime and rate limit. */
import { parseAllowlist } from '../domain/allowlist.js';
import type { Environment } from '../domain/environment.js';
import { ApiError } from '../domain/errors.js';
import type { Actor } from '../domain/events.js';
import type { Store } from '../store/index.js';
import type { EventBus } from './events.js';

export class AccessPolicyService {
  constructor(
    private readonly store: Store,
    private readonly events: EventBus,
    private readonly now: () => number = Date.now,
  ) {}

  private async requirePlatform(platformId: string) {
    const platform = await this.store.platforms.find(platformId);
    if (!platform) throw new ApiError('not_found', `No platform has the id "${platformId}".`);
    return platform;
  }

  /** Replace a platform's allowlist for one environment; an empty list allows every address. */
  async setAllowlist(
    platformId: string,
    environment: Environment,
    entries: string[],
    actor: Actor,
  ) {
    await this.requirePlatform(platformId);
    const parsed = parseAllowlist(entries);
    if (!parsed.ok) {
      throw new ApiError(
        'invalid_request',
        `Invalid allowlist entries: ${parsed.invalid.map((e) => `"${e}"`).join(', ')}. Use addresses such as 203.0.113.7 or 2001:db8::1, or CIDR ranges such as 203.0.113.0/24.`,
      );
    }
    const at = this.now();
    await this.store.allowlists.set(platformId, environment, parsed.entries, at);
    this.events.emit({
      type: 'allowlist.updated',
      at,
      actor,
      platformId,
      environment,
      entries: parsed.entries,
    });
    return { platform_id: platformId, environment, entries: parsed.entries };
  }

  async allowlists(platformId: string) {
    await this.requirePlatform(platformId);
    return {
      staging: await this.store.allowlists.get(platformId, 'staging'),
      production: await this.store.allowlists.get(platformId, 'production'),
    };
  }

  /** Set a platform's access-token lifetime and gateway rate limit; null restores the defaults. */
  async setLimits(
    platformId: string,
    limits: { accessTokenTtl: number | null; rateLimitPerMinute: number | null },
    actor: Actor,
  ) {
    const { accessTokenTtl, rateLimitPerMinute } = limits;
    if (
      accessTokenTtl !== null &&
      (!Number.isInteger(accessTokenTtl) || accessTokenTtl < 60 || accessTokenTtl > 86_400)
    ) {
      throw new ApiError(
        'invalid_request',
        'The access-token lifetime must be a whole number of seconds from 60 to 86400.',
      );
    }
    if (
      rateLimitPerMinute !== null &&
      (!Number.isInteger(rateLimitPerMinute) ||
        rateLimitPerMinute < 1 ||
        rateLimitPerMinute > 1_000_000)
    ) {
      throw new ApiError(
        'invalid_request',
        'The rate limit must be a whole number of calls per minute from 1 to 1000000.',
      );
    }
    await this.requirePlatform(platformId);
    const at = this.now();
    await this.store.platforms.setLimits(
      platformId,
      { access_token_ttl: accessTokenTtl, rate_limit_per_minute: rateLimitPerMinute },
      at,
    );
    this.events.emit({
      type: 'limits.updated',
      at,
      actor,
      platformId,
      accessTokenTtl,
      rateLimitPerMinute,
    });
    return {
      platform_id: platformId,
      access_token_ttl: accessTokenTtl,
      rate_limit_per_minute: rateLimitPerMinute,
    };
  }
}
