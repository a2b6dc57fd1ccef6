/** One row per gateway call, written in batches off the request path. */
import type { Insertable, Kysely } from 'kysely';
import type { Database, RequestLogTable } from './schema.js';

export type RequestLogInsert = Insertable<RequestLogTable>;

export interface RequestLogFilter {
  platformId?: string | undefined;
  moduleId?: string | undefined;
  environment?: string | undefined;
  /** An exact status such as 404, or a class such as 5 for every 5xx. */
  status?: number | undefined;
  since?: number | undefined;
  until?: number | undefined;
  limit?: number | undefined;
}

export class RequestLogStore {
  constructor(private readonly db: Kysely<Database>) {}

  async append(rows: RequestLogInsert[]): Promise<void> {
    if (rows.length === 0) return;
    await this.db.insertInto('request_log').values(rows).execute();
  }

  list(filter: RequestLogFilter = {}) {
    let query = this.db.selectFrom('request_log').selectAll().orderBy('id', 'desc');
    if (filter.platformId) query = query.where('platform_id', '=', filter.platformId);
    if (filter.moduleId) query = query.where('module_id', '=', filter.moduleId);
    if (filter.environment) query = query.where('environment', '=', filter.environment);
    if (filter.status !== undefined) {
      query =
        filter.status < 10
          ? query
              .where('status', '>=', filter.status * 100)
              .where('status', '<', filter.status * 100 + 100)
          : query.where('status', '=', filter.status);
    }
    if (filter.since !== undefined) query = query.where('at', '>=', filter.since);
    if (filter.until !== undefined) query = query.where('at', '<', filter.until);
    return query.limit(Math.min(filter.limit ?? 100, 1000)).execute();
  }

  /** Delete rows older than `before`; returns how many went. */
  async purge(before: number): Promise<number> {
    const result = await this.db
      .deleteFrom('request_log')
      .where('at', '<', before)
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
