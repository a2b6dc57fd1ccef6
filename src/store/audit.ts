/** The append-only audit log with its hash chain. Rows are only ever inserted. */
import type { Kysely } from 'kysely';
import { type AuditEntry, auditHash } from '../domain/audit-chain.js';
import type { Database } from './schema.js';

export type AuditInsert = Omit<AuditEntry, 'seq'>;

export interface AuditFilter {
  platformId?: string | undefined;
  environment?: string | undefined;
  action?: string | undefined;
  since?: number | undefined;
  until?: number | undefined;
  limit?: number | undefined;
}

export class AuditStore {
  /** `chainKey` keys the hash chain; see domain/audit-chain.ts. */
  constructor(
    private readonly db: Kysely<Database>,
    private readonly chainKey: Uint8Array,
  ) {}

  /**
   * Append events in order, extending the hash chain in one transaction. A store bound to a
   * caller's transaction writes in that one, so the rows commit or roll back with its change.
   */
  async append(events: AuditInsert[]): Promise<void> {
    if (events.length === 0) return;
    const write = async (trx: Kysely<Database>) => {
      // Writing the head first takes the write lock, so appenders from any process queue here.
      await trx
        .updateTable('audit_head')
        .set((eb) => ({ seq: eb.ref('seq') }))
        .where('id', '=', 1)
        .execute();
      const head = await trx
        .selectFrom('audit_head')
        .selectAll()
        .where('id', '=', 1)
        .executeTakeFirstOrThrow();
      let { seq, hash } = head;
      const rows = events.map((event) => {
        seq += 1;
        const entry: AuditEntry = { ...event, seq };
        const prev = hash;
        hash = auditHash(this.chainKey, prev, entry);
        return { ...entry, prev_hash: prev, hash };
      });
      for (let i = 0; i < rows.length; i += 200) {
        await trx
          .insertInto('audit_events')
          .values(rows.slice(i, i + 200))
          .execute();
      }
      await trx.updateTable('audit_head').set({ seq, hash }).where('id', '=', 1).execute();
    };
    if (this.db.isTransaction) await write(this.db);
    else await this.db.transaction().execute(write);
  }

  list(filter: AuditFilter = {}) {
    let query = this.db.selectFrom('audit_events').selectAll().orderBy('seq', 'desc');
    if (filter.platformId) query = query.where('platform_id', '=', filter.platformId);
    if (filter.environment) query = query.where('environment', '=', filter.environment);
    if (filter.action) query = query.where('action', '=', filter.action);
    if (filter.since !== undefined) query = query.where('at', '>=', filter.since);
    if (filter.until !== undefined) query = query.where('at', '<', filter.until);
    return query.limit(Math.min(filter.limit ?? 100, 1000)).execute();
  }

  head() {
    return this.db
      .selectFrom('audit_head')
      .select(['seq', 'hash'])
      .where('id', '=', 1)
      .executeTakeFirstOrThrow();
  }

  /** Rows in chain order, `batch` at a time after `afterSeq`. */
  page(afterSeq: number, batch: number) {
    return this.db
      .selectFrom('audit_events')
      .selectAll()
      .where('seq', '>', afterSeq)
      .orderBy('seq')
      .limit(batch)
      .execute();
  }
}
