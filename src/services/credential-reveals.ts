/**
 * Production credentials sealed for a platform's owners. A go-live approved in the dashboard
 * seals the secrets it issued under a key derived from the master key, and an owner of the
 * platform reveals them once: opening the row deletes it in the same transaction. Unrevealed rows
 * expire after `CREDENTIAL_REVEAL_TTL_MS` and are deleted when next read.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Environment } from '../domain/environment.js';
import { ApiError } from '../domain/errors.js';
import type { Actor, DomainEvent } from '../domain/events.js';
import type { Store } from '../store/index.js';
import { auditWithChange } from './audit.js';
import { lockPlatform } from './credentials.js';
import type { EventBus } from './events.js';
import type { IssuedCredentials } from './platforms.js';

/**
 * How long sealed credentials wait for an owner, in milliseconds: 7 days. Long enough for an
 * owner to sign in after a weekend. Expired rows are deleted when next read and by the hourly
 * sweep that `startSweeping` runs.
 */
export const CREDENTIAL_REVEAL_TTL_MS = 7 * 24 * 3600 * 1000;

/** Time between two sweeps of expired sealed credentials, in milliseconds. */
const SWEEP_INTERVAL_MS = 3600 * 1000;

/** Sealed credentials that wait for an owner, without the secrets. */
export interface PendingReveal {
  environment: Environment;
  created_at: number;
  expires_at: number;
}

/** Bind the ciphertext to its row, so that a database writer cannot move it to another platform. */
function associatedData(platformId: string, environment: string): Buffer {
  return Buffer.from(`gatepass credential reveal ${platformId} ${environment}`, 'utf8');
}

function seal(key: Buffer, platformId: string, credentials: IssuedCredentials): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(associatedData(platformId, credentials.environment));
  const body = Buffer.concat([cipher.update(JSON.stringify(credentials), 'utf8'), cipher.final()]);
  return Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url');
}

function open(key: Buffer, platformId: string, environment: string, sealed: string) {
  const bytes = Buffer.from(sealed, 'base64url');
  try {
    // A fixed tag length, so that a blob shorter than 28 bytes cannot pass a truncated tag.
    const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, 12), {
      authTagLength: 16,
    });
    decipher.setAAD(associatedData(platformId, environment));
    decipher.setAuthTag(bytes.subarray(bytes.length - 16));
    const text = Buffer.concat([
      decipher.update(bytes.subarray(12, bytes.length - 16)),
      decipher.final(),
    ]).toString('utf8');
    return JSON.parse(text) as IssuedCredentials;
  } catch {
    // A conflict (409), not a server error: the row stays for a restart with the right master
    // key, and the owner gets a message to act on in place of a 500 page.
    throw new ApiError(
      'conflict',
      `The sealed ${environment} credentials of platform ${platformId} cannot be opened with this master key. ` +
        'Ask an operator to start Gatepass with the master key that sealed them, or rotate the secrets.',
    );
  }
}

export class CredentialRevealService {
  private sweeper: NodeJS.Timeout | undefined;
  private sweeping: Promise<void> | undefined;

  constructor(
    private readonly store: Store,
    private readonly key: Buffer,
    private readonly events: EventBus,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Delete expired sealed credentials now and then every hour until `stop`, so that a row no
   * owner ever reads still leaves the database after its expiry. A failed sweep is logged and
   * retried at the next one.
   */
  startSweeping(log: Logger): void {
    const sweep = async () => {
      try {
        const deleted = await this.store.credentialReveals.deleteExpired(this.now());
        if (deleted > 0) log.info({ rows: deleted }, 'deleted expired sealed credentials');
      } catch (error) {
        log.warn({ err: error }, 'deleting expired sealed credentials failed; retrying in an hour');
      }
    };
    this.sweeping = sweep();
    this.sweeper = setInterval(() => {
      this.sweeping = sweep();
    }, SWEEP_INTERVAL_MS);
    this.sweeper.unref();
  }

  /** Stop sweeping, once the sweep under way, if any, has finished. */
  async stop(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    await this.sweeping;
  }

  /**
   * Seal an environment's credentials for the platform's owners, inside the caller's transaction,
   * replacing an earlier row of the same environment. Returns when the row expires.
   */
  async seal(store: Store, platformId: string, credentials: IssuedCredentials): Promise<number> {
    const at = this.now();
    const expiresAt = at + CREDENTIAL_REVEAL_TTL_MS;
    await store.credentialReveals.deleteExpired(at);
    await store.credentialReveals.delete(platformId, credentials.environment);
    await store.credentialReveals.insert({
      platform_id: platformId,
      environment: credentials.environment,
      sealed: seal(this.key, platformId, credentials),
      created_at: at,
      expires_at: expiresAt,
    });
    return expiresAt;
  }

  /**
   * Return the platform's rows that wait for an owner. Rows past their expiry are deleted and
   * returned in `expired`, so the page can tell the owner to rotate instead.
   */
  async pending(platformId: string): Promise<{ ready: PendingReveal[]; expired: PendingReveal[] }> {
    const at = this.now();
    const rows = (await this.store.credentialReveals.listFor(platformId)).map((row) => ({
      environment: row.environment as Environment,
      created_at: row.created_at,
      expires_at: row.expires_at,
    }));
    const expired = rows.filter((row) => row.expires_at <= at);
    if (expired.length > 0) await this.store.credentialReveals.deleteExpired(at, platformId);
    return { ready: rows.filter((row) => row.expires_at > at), expired };
  }

  /**
   * Open and delete the sealed credentials of one environment, and audit the reveal with
   * `actor` in the same transaction. Of concurrent reveals one gets the credentials and the
   * others `conflict`. The caller checks that the actor owns the platform, and this method checks
   * again under the platform lock that a user actor is still an active owner of an unsuspended
   * platform.
   */
  async reveal(
    platformId: string,
    environment: Environment,
    clientId: string,
    actor: Actor,
  ): Promise<IssuedCredentials> {
    const at = this.now();
    const outcome = await this.store.transaction(async (trx) => {
      // The session was checked when the request began. Locking the platform row orders this
      // reveal after a suspension or rotation that commits first, and the checks below see it.
      if (!(await lockPlatform(trx, platformId))) return { kind: 'missing' as const };
      const platform = await trx.platforms.find(platformId);
      if (platform?.status === 'suspended') return { kind: 'suspended' as const };
      if (actor.kind === 'user') {
        const user = await trx.users.findByEmail(actor.id);
        const owner =
          user?.platform_id === platformId && user.role === 'owner' && user.status === 'active';
        if (!owner) return { kind: 'not_owner' as const };
      }
      const row = await trx.credentialReveals.find(platformId, environment);
      if (!row || !(await trx.credentialReveals.delete(platformId, environment))) {
        return { kind: 'missing' as const };
      }
      if (row.expires_at <= at) return { kind: 'expired' as const, expiresAt: row.expires_at };
      const credentials = open(this.key, platformId, environment, row.sealed);
      const event: DomainEvent = {
        type: 'credential.revealed',
        at,
        actor,
        platformId,
        environment,
        clientId,
      };
      await auditWithChange(trx.audit, event);
      return { kind: 'revealed' as const, credentials, event };
    });
    if (outcome.kind === 'suspended') {
      throw new ApiError(
        'platform_suspended',
        `Platform ${platformId} is suspended, so its credentials cannot be revealed. Ask an operator to resume it.`,
      );
    }
    if (outcome.kind === 'not_owner') {
      throw new ApiError(
        'forbidden',
        'Only active owners of the platform reveal its production credentials. Ask an owner to reveal them.',
      );
    }
    if (outcome.kind === 'missing') {
      throw new ApiError(
        'conflict',
        `No ${environment} credentials wait to be revealed: they are shown once, and expire unrevealed after 7 days. ` +
          `If nobody stored them, rotate the ${environment} client secret, and ask an operator to rotate the module secrets.`,
      );
    }
    if (outcome.kind === 'expired') {
      throw new ApiError(
        'conflict',
        `The ${environment} credentials expired unrevealed on ${new Date(outcome.expiresAt).toISOString()} and were deleted. ` +
          `Rotate the ${environment} client secret, and ask an operator to rotate the module secrets.`,
      );
    }
    this.events.emit(outcome.event);
    return outcome.credentials;
  }
}
