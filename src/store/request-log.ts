/** One row per gateway call, written in batches off the request path. */
import { type Insertable, type Kysely, sql } from 'kysely';
import type { Database, RequestLogTable } from './schema.js';

export type RequestLogInsert = Insertable<RequestLogTable>;

export interface RequestLogFilter {
  platformId?: string | undefined;
  moduleId?: string | undefined;
  environment?: string | undefined;
  /** An exact status such as 404, or a class such as 5 for every 5xx. */
  status?: number | undefined;
  /** Only calls that failed: status 400 and above. */
  failedOnly?: boolean | undefined;
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
    if (filter.failedOnly) query = query.where('status', '>=', 400);
    if (filter.since !== undefined) query = query.where('at', '>=', filter.since);
    if (filter.until !== undefined) query = query.where('at', '<', filter.until);
    return query.limit(Math.min(filter.limit ?? 100, 1000)).execute();
  }

  /** One row of one platform; undefined for an unknown id or another platform's row. */
  findFor(platformId: string, id: number) {
    return this.db
      .selectFrom('request_log')
      .selectAll()
      .where('id', '=', id)
      .where('platform_id', '=', platformId)
      .executeTakeFirst();
  }

  /**
   * Calls and failed calls (status 400 and above) per platform, module and time bucket since
   * `since`. Buckets are `bucketMs` wide and numbered from the epoch.
   */
  async usage(filter: { since: number; bucketMs: number; platformId?: string | undefined }) {
    // The width is a whole number written into the query as a literal, so both databases divide
    // two integers and truncate.
    const width = sql.lit(Math.max(1, Math.trunc(filter.bucketMs)));
    const bucket = sql<number>`(at / ${width})`;
    let query = this.db
      .selectFrom('request_log')
      .select([
        'platform_id',
        'module_id',
        bucket.as('bucket'),
        (eb) => eb.fn.countAll<number>().as('calls'),
        sql<number>`sum(case when status >= 400 then 1 else 0 end)`.as('errors'),
      ])
      .where('at', '>=', filter.since)
      .groupBy(['platform_id', 'module_id', bucket]);
    if (filter.platformId) query = query.where('platform_id', '=', filter.platformId);
    const rows = await query.execute();
    // PostgreSQL returns bigint aggregates as strings.
    return rows.map((row) => ({
      platform_id: row.platform_id,
      module_id: row.module_id,
      bucket: Number(row.bucket),
      calls: Number(row.calls),
      errors: Number(row.errors),
    }));
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
