/** Dashboard sessions and operators' sign-in accounts. */
import type { Kysely } from 'kysely';
import type { DashboardSessionTable, Database, OperatorAccountTable } from './schema.js';

export type SessionRow = DashboardSessionTable;

export class DashboardStore {
  constructor(private readonly db: Kysely<Database>) {}

  async insertSession(session: SessionRow): Promise<void> {
    await this.db.insertInto('dashboard_sessions').values(session).execute();
  }

  findSession(idHash: string): Promise<SessionRow | undefined> {
    return this.db
      .selectFrom('dashboard_sessions')
      .selectAll()
      .where('id_hash', '=', idHash)
      .executeTakeFirst();
  }

  async touchSession(idHash: string, at: number): Promise<void> {
    await this.db
      .updateTable('dashboard_sessions')
      .set({ last_seen_at: at })
      .where('id_hash', '=', idHash)
      .execute();
  }

  /** Delete one session; returns whether it existed. */
  async deleteSession(idHash: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('dashboard_sessions')
      .where('id_hash', '=', idHash)
      .executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  /**
   * Delete sessions past their absolute end or idle since before `idleBefore`, and form tokens
   * used before `formsBefore`.
   */
  async purgeSessions(now: number, idleBefore: number, formsBefore: number): Promise<void> {
    await this.db
      .deleteFrom('dashboard_sessions')
      .where((eb) => eb.or([eb('expires_at', '<=', now), eb('last_seen_at', '<', idleBefore)]))
      .execute();
    await this.db.deleteFrom('dashboard_form_uses').where('used_at', '<', formsBefore).execute();
  }

  /** Record a form token as used; returns false when it was used before. */
  async useFormToken(sessionHash: string, token: string, at: number): Promise<boolean> {
    const result = await this.db
      .insertInto('dashboard_form_uses')
      .values({ session_hash: sessionHash, token, used_at: at })
      .onConflict((conflict) => conflict.columns(['session_hash', 'token']).doNothing())
      .executeTakeFirst();
    return (result.numInsertedOrUpdatedRows ?? 0n) > 0n;
  }

  async insertOperatorAccount(account: OperatorAccountTable): Promise<void> {
    await this.db.insertInto('operator_accounts').values(account).execute();
  }

  async setOperatorPassword(operatorId: string, passwordHash: string, at: number): Promise<void> {
    await this.db
      .updateTable('operator_accounts')
      .set({ password_hash: passwordHash, updated_at: at, password_changed_at: at })
      .where('operator_id', '=', operatorId)
      .execute();
  }

  /** Select operator accounts with their operator's name and status, but no password hash. */
  private operatorAccounts() {
    return this.db
      .selectFrom('operator_accounts')
      .innerJoin('operators', 'operators.id', 'operator_accounts.operator_id')
      .select([
        'operator_accounts.operator_id as operator_id',
        'operator_accounts.email as email',
        'operator_accounts.password_changed_at as password_changed_at',
        'operators.name as name',
        'operators.disabled_at as disabled_at',
      ]);
  }

  /** Find the account with this email, with its password hash for sign-in. */
  findOperatorAccount(email: string) {
    return this.operatorAccounts()
      .select('operator_accounts.password_hash as password_hash')
      .where('operator_accounts.email', '=', email)
      .executeTakeFirst();
  }

  findOperatorAccountById(operatorId: string) {
    return this.operatorAccounts()
      .where('operator_accounts.operator_id', '=', operatorId)
      .executeTakeFirst();
  }

  listOperatorAccounts() {
    return this.db
      .selectFrom('operator_accounts')
      .innerJoin('operators', 'operators.id', 'operator_accounts.operator_id')
      .select([
        'operators.name as operator',
        'operator_accounts.email as email',
        'operator_accounts.created_at as created_at',
        'operators.disabled_at as disabled_at',
      ])
      .orderBy('operator_accounts.created_at')
      .execute();
  }
}
