/** Platform users of the dashboard and the `user_credentials` grant. */
import type { Kysely } from 'kysely';
import type { Database, UserTable } from './schema.js';

export type UserRow = UserTable;

export class UserStore {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(user: UserRow): Promise<void> {
    await this.db.insertInto('users').values(user).execute();
  }

  /** Look a user up by an email that the caller has already normalized. */
  findByEmail(email: string): Promise<UserRow | undefined> {
    return this.db.selectFrom('users').selectAll().where('email', '=', email).executeTakeFirst();
  }

  find(id: string): Promise<UserRow | undefined> {
    return this.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
  }

  listFor(platformId: string): Promise<UserRow[]> {
    return this.db
      .selectFrom('users')
      .selectAll()
      .where('platform_id', '=', platformId)
      .orderBy('email')
      .execute();
  }
}
