/** Signing keys per environment. Private keys are stored sealed, never in clear. */
import type { Kysely } from 'kysely';
import type { Database, SigningKeyTable } from './schema.js';

export type SigningKeyRow = SigningKeyTable;

export class SigningKeyStore {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(key: SigningKeyRow): Promise<void> {
    await this.db.insertInto('signing_keys').values(key).execute();
  }

  /** Keys of an environment that are still published at `now`, newest first. */
  published(environment: string, now: number): Promise<SigningKeyRow[]> {
    return this.db
      .selectFrom('signing_keys')
      .selectAll()
      .where('environment', '=', environment)
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
      .orderBy('activates_at', 'desc')
      .orderBy('created_at', 'desc')
      .execute();
  }

  async retire(kid: string, retiredAt: number, expiresAt: number): Promise<void> {
    await this.db
      .updateTable('signing_keys')
      .set({ retired_at: retiredAt, expires_at: expiresAt })
      .where('kid', '=', kid)
      .where('retired_at', 'is', null)
      .execute();
  }
}
