/** Operators and their API keys, stored as keyed hashes. */
import type { Kysely } from 'kysely';
import type { Database, OperatorKeyTable, OperatorTable } from './schema.js';

export class OperatorStore {
  constructor(private readonly db: Kysely<Database>) {}

  findByName(name: string): Promise<OperatorTable | undefined> {
    return this.db.selectFrom('operators').selectAll().where('name', '=', name).executeTakeFirst();
  }

  async insert(operator: OperatorTable): Promise<void> {
    await this.db.insertInto('operators').values(operator).execute();
  }

  async insertKey(key: OperatorKeyTable): Promise<void> {
    await this.db.insertInto('operator_keys').values(key).execute();
  }

  /** The live key with this hash, with its operator. */
  findKey(keyHash: string) {
    return this.db
      .selectFrom('operator_keys')
      .innerJoin('operators', 'operators.id', 'operator_keys.operator_id')
      .select([
        'operator_keys.id as key_id',
        'operators.id as operator_id',
        'operators.name as name',
      ])
      .where('operator_keys.key_hash', '=', keyHash)
      .where('operator_keys.revoked_at', 'is', null)
      .where('operators.disabled_at', 'is', null)
      .executeTakeFirst();
  }

  async touchKey(keyId: string, at: number): Promise<void> {
    await this.db
      .updateTable('operator_keys')
      .set({ last_used_at: at })
      .where('id', '=', keyId)
      .execute();
  }

  listKeys() {
    return this.db
      .selectFrom('operator_keys')
      .innerJoin('operators', 'operators.id', 'operator_keys.operator_id')
      .select([
        'operator_keys.id as id',
        'operators.name as operator',
        'operator_keys.hint as hint',
        'operator_keys.created_at as created_at',
        'operator_keys.last_used_at as last_used_at',
        'operator_keys.revoked_at as revoked_at',
      ])
      .orderBy('operator_keys.created_at')
      .execute();
  }

  async revokeKey(keyId: string, at: number) {
    const key = await this.db
      .selectFrom('operator_keys')
      .innerJoin('operators', 'operators.id', 'operator_keys.operator_id')
      .select(['operator_keys.id as id', 'operators.id as operator_id', 'operators.name as name'])
      .where('operator_keys.id', '=', keyId)
      .where('operator_keys.revoked_at', 'is', null)
      .executeTakeFirst();
    if (!key) return undefined;
    // The condition makes one of two concurrent revocations find nothing to change.
    const result = await this.db
      .updateTable('operator_keys')
      .set({ revoked_at: at })
      .where('id', '=', keyId)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n ? key : undefined;
  }
}
