/** Stored secrets: keyed hashes only, with expiry, revocation and last use. */
import type { Kysely } from 'kysely';
import type { Database, SecretTable } from './schema.js';

export type SecretRow = SecretTable;

export class SecretStore {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(secret: SecretRow): Promise<void> {
    await this.db.insertInto('secrets').values(secret).execute();
  }

  /** Every secret of a client that is neither revoked nor expired at `now`. */
  activeFor(clientId: string, now: number): Promise<SecretRow[]> {
    return this.db
      .selectFrom('secrets')
      .selectAll()
      .where('client_id', '=', clientId)
      .where('revoked_at', 'is', null)
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
      .execute();
  }

  listFor(platformId: string): Promise<SecretRow[]> {
    return this.db
      .selectFrom('secrets')
      .selectAll()
      .where('platform_id', '=', platformId)
      .orderBy('created_at')
      .execute();
  }

  find(id: string): Promise<SecretRow | undefined> {
    return this.db.selectFrom('secrets').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async setExpiry(id: string, at: number): Promise<void> {
    await this.db.updateTable('secrets').set({ expires_at: at }).where('id', '=', id).execute();
  }

  async revokeModule(platformId: string, moduleId: string, at: number): Promise<void> {
    await this.db
      .updateTable('secrets')
      .set({ revoked_at: at })
      .where('platform_id', '=', platformId)
      .where('module_id', '=', moduleId)
      .where('revoked_at', 'is', null)
      .execute();
  }

  async revoke(id: string, at: number): Promise<boolean> {
    const result = await this.db
      .updateTable('secrets')
      .set({ revoked_at: at })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  /** Record last use of many secrets at once; called off the request path. */
  async touch(lastUsed: Map<string, number>): Promise<void> {
    if (lastUsed.size === 0) return;
    await this.db.transaction().execute(async (trx) => {
      for (const [id, at] of lastUsed) {
        await trx.updateTable('secrets').set({ last_used_at: at }).where('id', '=', id).execute();
      }
    });
  }
}
