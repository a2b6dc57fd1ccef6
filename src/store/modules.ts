/** Module definitions. Modules declared in configuration are written here at start. */
import type { Kysely } from 'kysely';
import type { Database, ModuleTable } from './schema.js';

export type ModuleRow = ModuleTable;

export class ModuleStore {
  constructor(private readonly db: Kysely<Database>) {}

  /** Insert or update a module, keeping its creation time. */
  async upsert(module: ModuleRow): Promise<void> {
    const { id: _id, created_at: _created, ...changes } = module;
    await this.db
      .insertInto('modules')
      .values(module)
      .onConflict((oc) => oc.column('id').doUpdateSet(changes))
      .execute();
  }

  listActive(): Promise<ModuleRow[]> {
    return this.db
      .selectFrom('modules')
      .selectAll()
      .where('retired_at', 'is', null)
      .orderBy('id')
      .execute();
  }

  listAll(): Promise<ModuleRow[]> {
    return this.db.selectFrom('modules').selectAll().orderBy('id').execute();
  }

  find(id: string): Promise<ModuleRow | undefined> {
    return this.db.selectFrom('modules').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async insert(module: ModuleRow): Promise<void> {
    await this.db.insertInto('modules').values(module).execute();
  }

  async retire(id: string, at: number): Promise<boolean> {
    const result = await this.db
      .updateTable('modules')
      .set({ retired_at: at, updated_at: at })
      .where('id', '=', id)
      .where('retired_at', 'is', null)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }
}
