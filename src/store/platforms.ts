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

  /** Disable a module in every environment; returns the environments where it was enabled. */
  async disableModule(platformId: string, moduleId: string, at: number): Promise<string[]> {
    const rows = await this.db
      .selectFrom('platform_modules')
      .select('environment')
      .where('platform_id', '=', platformId)
      .where('module_id', '=', moduleId)
      .where('disabled_at', 'is', null)
      .execute();
    await this.db
      .updateTable('platform_modules')
      .set({ disabled_at: at })
      .where('platform_id', '=', platformId)
      .where('module_id', '=', moduleId)
      .where('disabled_at', 'is', null)
      .execute();
    return rows.map((row) => row.environment);
  }

  /** Record the first successful call of a module for a platform in an environment. */
  async markFirstSuccess(
    platformId: string,
    environment: string,
    moduleId: string,
    at: number,
  ): Promise<void> {
    await this.db
      .updateTable('platform_modules')
      .set({ first_success_at: at })
      .where('platform_id', '=', platformId)
      .where('environment', '=', environment)
      .where('module_id', '=', moduleId)
      .where('first_success_at', 'is', null)
      .execute();
  }

  moduleStates(platformId: string, environment: string) {
    return this.db
      .selectFrom('platform_modules')
      .selectAll()
      .where('platform_id', '=', platformId)
      .where('environment', '=', environment)
      .where('disabled_at', 'is', null)
      .orderBy('module_id')
      .execute();
  }

  async setLimits(
    platformId: string,
    limits: { access_token_ttl: number | null; rate_limit_per_minute: number | null },
    at: number,
  ): Promise<boolean> {
    const result = await this.db
      .updateTable('platforms')
      .set({ ...limits, updated_at: at })
      .where('id', '=', platformId)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  findClientFor(platformId: string, environment: string): Promise<ClientTable | undefined> {
    return this.db
      .selectFrom('clients')
      .selectAll()
      .where('platform_id', '=', platformId)
      .where('environment', '=', environment)
      .executeTakeFirst();
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
