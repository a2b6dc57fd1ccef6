/** IP allowlists per platform and environment. */
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

export class AllowlistStore {
  constructor(private readonly db: Kysely<Database>) {}

  async get(platformId: string, environment: string): Promise<string[]> {
    const row = await this.db
      .selectFrom('allowlists')
      .select('entries')
      .where('platform_id', '=', platformId)
      .where('environment', '=', environment)
      .executeTakeFirst();
    return row ? (JSON.parse(row.entries) as string[]) : [];
  }

  async set(platformId: string, environment: string, entries: string[], at: number): Promise<void> {
    const value = JSON.stringify(entries);
    await this.db
      .insertInto('allowlists')
      .values({ platform_id: platformId, environment, entries: value, updated_at: at })
      .onConflict((oc) =>
        oc.columns(['platform_id', 'environment']).doUpdateSet({ entries: value, updated_at: at }),
      )
      .execute();
  }
}
