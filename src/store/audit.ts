/** Append-only audit events. Rows are only ever inserted. */
import type { Insertable, Kysely } from 'kysely';
import type { AuditEventTable, Database } from './schema.js';

export type AuditInsert = Insertable<AuditEventTable>;

export class AuditStore {
  constructor(private readonly db: Kysely<Database>) {}

  async append(events: AuditInsert[]): Promise<void> {
    if (events.length === 0) return;
    await this.db.insertInto('audit_events').values(events).execute();
  }

  list(filter: { platformId?: string; limit?: number } = {}) {
    let query = this.db.selectFrom('audit_events').selectAll().orderBy('id', 'desc');
    if (filter.platformId) query = query.where('platform_id', '=', filter.platformId);
    return query.limit(filter.limit ?? 100).execute();
  }
}
