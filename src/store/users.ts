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

  /** Set a user's status; disabling also ends every session the user had. */
  async setStatus(id: string, status: UserRow['status'], at: number): Promise<boolean> {
    const changes =
      status === 'disabled'
        ? { status, updated_at: at, sessions_revoked_at: at }
        : { status, updated_at: at };
    const result = await this.db
      .updateTable('users')
      .set(changes)
      .where('id', '=', id)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  /** Replace a user's password hash and end every session the user had. */
  async setPassword(id: string, passwordHash: string, at: number): Promise<boolean> {
    const result = await this.db
      .updateTable('users')
      .set({
        password_hash: passwordHash,
        password_changed_at: at,
        sessions_revoked_at: at,
        updated_at: at,
      })
      .where('id', '=', id)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }
}
