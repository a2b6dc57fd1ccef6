/** One row per gateway call, written in batches off the request path. */
import type { Insertable, Kysely } from 'kysely';
import type { Database, RequestLogTable } from './schema.js';

export type RequestLogInsert = Insertable<RequestLogTable>;

export class RequestLogStore {
  constructor(private readonly db: Kysely<Database>) {}

  async append(rows: RequestLogInsert[]): Promise<void> {
    if (rows.length === 0) return;
    await this.db.insertInto('request_log').values(rows).execute();
  }

  list(filter: { platformId?: string; limit?: number } = {}) {
    let query = this.db.selectFrom('request_log').selectAll().orderBy('id', 'desc');
    if (filter.platformId) query = query.where('platform_id', '=', filter.platformId);
    return query.limit(filter.limit ?? 100).execute();
  }
}
