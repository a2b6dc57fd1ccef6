/** Signing-key rotation and listing for operators. */
import type { Environment } from '../domain/environment.js';
import { ApiError } from '../domain/errors.js';
import type { Actor } from '../domain/events.js';
import type { Store } from '../store/index.js';
import type { EventBus } from './events.js';
import type { Keyring } from './keyring.js';

/**
 * Default time between publishing a new key and signing with it, in seconds: longer than the
 * 30-second key reload of other nodes plus the 60-second cache lifetime of the JWKS response.
 */
export const DEFAULT_PUBLISH_DELAY_SECONDS = 120;

export class SigningKeyService {
  constructor(
    private readonly store: Store,
    private readonly keyrings: Record<Environment, Keyring>,
    private readonly events: EventBus,
    private readonly now: () => number = Date.now,
  ) {}

  async rotate(environment: Environment, publishDelaySeconds: number, actor: Actor) {
    if (
      !Number.isInteger(publishDelaySeconds) ||
      publishDelaySeconds < 0 ||
      publishDelaySeconds > 86_400
    ) {
      throw new ApiError(
        'invalid_request',
        'The publish delay must be a whole number of seconds from 0 to 86400.',
      );
    }
    const { kid, activatesAt } = await this.keyrings[environment].rotate(
      publishDelaySeconds * 1000,
    );
    this.events.emit({ type: 'signing_key.rotated', at: this.now(), actor, environment, kid });
    return { environment, kid, activates_at: activatesAt };
  }

  async list(environment: Environment) {
    const rows = await this.store.signingKeys.published(environment, this.now());
    return rows.map((row) => ({
      kid: row.kid,
      environment: row.environment,
      algorithm: row.algorithm,
      created_at: row.created_at,
      activates_at: row.activates_at,
      retired_at: row.retired_at,
      expires_at: row.expires_at,
    }));
  }
}
