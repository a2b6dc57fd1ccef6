/** Platforms, the modules they enabled per environment, and their client ids. */
import type { Kysely } from 'kysely';
import type { ClientTable, Database, PlatformTable } from './schema.js';

export type PlatformRow = PlatformTable;

export class PlatformStore {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(platform: PlatformRow): Promise<void> {
    await this.db.insertInto('platforms').values(platform).execute();
  }

  find(id: string): Promise<PlatformRow | undefined> {
    return this.db.selectFrom('platforms').selectAll().where('id', '=', id).executeTakeFirst();
  }

  list(): Promise<PlatformRow[]> {
    return this.db
      .selectFrom('platforms')
      .selectAll()
      .orderBy('created_at')
      .orderBy('id')
      .execute();
  }

  async setStatus(
    id: string,
    status: PlatformRow['status'],
    at: number,
    revokeSessions: boolean,
  ): Promise<boolean> {
    const result = await this.db
      .updateTable('platforms')
      .set(
        revokeSessions
          ? { status, updated_at: at, sessions_revoked_at: at }
          : { status, updated_at: at },
      )
      .where('id', '=', id)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async enableModule(
    platformId: string,
    environment: string,
    moduleId: string,
    at: number,
  ): Promise<void> {
    await this.db
      .insertInto('platform_modules')
      .values({
        platform_id: platformId,
        environment,
        module_id: moduleId,
        enabled_at: at,
        disabled_at: null,
      })
      .onConflict((oc) =>
        oc
          .columns(['platform_id', 'environment', 'module_id'])
          .doUpdateSet({ enabled_at: at, disabled_at: null }),
      )
      .execute();
  }

  async enabledModules(platformId: string, environment: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('platform_modules')
      .select('module_id')
      .where('platform_id', '=', platformId)
      .where('environment', '=', environment)
      .where('disabled_at', 'is', null)
      .orderBy('module_id')
      .execute();
    return rows.map((row) => row.module_id);
  }

  async insertClient(client: ClientTable): Promise<void> {
    await this.db.insertInto('clients').values(client).execute();
  }

  findClient(clientId: string): Promise<ClientTable | undefined> {
    return this.db
      .selectFrom('clients')
      .selectAll()
      .where('client_id', '=', clientId)
      .executeTakeFirst();
  }

  clientsOf(platformId: string): Promise<ClientTable[]> {
    return this.db
      .selectFrom('clients')
      .selectAll()
      .where('platform_id', '=', platformId)
      .execute();
  }
}
