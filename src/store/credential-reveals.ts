/** Sealed production credentials that wait for an owner of their platform to reveal them once. */
import type { Kysely } from 'kysely';
import type { CredentialRevealTable, Database } from './schema.js';

export type CredentialRevealRow = CredentialRevealTable;

export class CredentialRevealStore {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(row: CredentialRevealRow): Promise<void> {
    await this.db.insertInto('credential_reveals').values(row).execute();
  }

  find(platformId: string, environment: string): Promise<CredentialRevealRow | undefined> {
    return this.db
      .selectFrom('credential_reveals')
      .selectAll()
      .where('platform_id', '=', platformId)
      .where('environment', '=', environment)
      .executeTakeFirst();
  }

  /** List the rows of one platform, without their sealed credentials. */
  listFor(platformId: string) {
    return this.db
      .selectFrom('credential_reveals')
      .select(['platform_id', 'environment', 'created_at', 'expires_at'])
      .where('platform_id', '=', platformId)
      .orderBy('environment')
      .execute();
  }

  /**
   * Delete one row; returns whether this call deleted it. Of concurrent deletes of one row, one
   * returns true: on PostgreSQL the others wait for its commit and then find no row.
   */
  async delete(platformId: string, environment: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('credential_reveals')
      .where('platform_id', '=', platformId)
      .where('environment', '=', environment)
      .executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  /** Delete the rows that expired at or before `now`, of one platform or of all. */
  async deleteExpired(now: number, platformId?: string): Promise<number> {
    let query = this.db.deleteFrom('credential_reveals').where('expires_at', '<=', now);
    if (platformId !== undefined) query = query.where('platform_id', '=', platformId);
    const result = await query.executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
