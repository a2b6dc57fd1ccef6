/**
 * Collects one row per gateway call in memory and writes them in batches, so no call waits
 * for the database. The buffer is bounded: rows past `maxPending` are counted and logged as
 * dropped rather than growing memory without limit while the database is away. Successful
 * staging calls also mark their module as tested, which the go-live checklist reads.
 */
import type { Logger } from 'pino';
import type { Store } from '../store/index.js';
import type { RequestLogInsert } from '../store/request-log.js';

const DAY_MS = 24 * 3600 * 1000;

export class RequestLogWriter {
  private pending: RequestLogInsert[] = [];
  private droppedSinceLog = 0;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private purgeTimer: NodeJS.Timeout | undefined;
  /** Platform and module pairs already marked as tested on staging by this process. */
  private readonly tested = new Set<string>();
  dropped = 0;

  constructor(
    private readonly store: Store,
    private readonly log: Logger,
    private readonly options: { intervalMs: number; maxPending: number; retentionDays: number },
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.flush(), this.options.intervalMs);
    this.timer.unref();
    this.purgeTimer = setInterval(() => void this.purge(), 3600 * 1000);
    this.purgeTimer.unref();
  }

  record(row: RequestLogInsert): void {
    if (this.pending.length >= this.options.maxPending) {
      this.dropped++;
      this.droppedSinceLog++;
      return;
    }
    this.pending.push(row);
  }

  private async markTested(rows: RequestLogInsert[]): Promise<void> {
    for (const row of rows) {
      const key = `${row.platform_id}|${row.module_id}`;
      if (
        row.environment !== 'staging' ||
        row.status >= 400 ||
        row.error_code ||
        this.tested.has(key)
      )
        continue;
      await this.store.platforms.markFirstSuccess(
        row.platform_id,
        'staging',
        row.module_id,
        row.at,
      );
      this.tested.add(key);
    }
  }

  /**
   * Write every pending row. A flush already running is joined rather than started again, so a
   * caller such as `stop` returns only once the rows taken by the timer's flush are written too.
   */
  flush(): Promise<void> {
    this.flushing ??= this.writePending().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  private async writePending(): Promise<void> {
    if (this.droppedSinceLog > 0) {
      this.log.error(
        { dropped: this.droppedSinceLog },
        'request-log rows were dropped because the buffer was full',
      );
      this.droppedSinceLog = 0;
    }
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, 500);
      try {
        await this.store.requestLog.append(batch);
      } catch (error) {
        this.pending = batch.concat(this.pending);
        this.log.warn(
          { err: error, rows: this.pending.length },
          'writing request-log rows failed; retrying at the next flush',
        );
        return;
      }
      // The batch is written, so a failure here must not queue it again as duplicate rows.
      // A module left unmarked is marked by its next successful staging call.
      try {
        await this.markTested(batch);
      } catch (error) {
        this.log.warn(
          { err: error },
          'marking modules as tested on staging failed; the next successful call retries',
        );
      }
    }
  }

  /** Delete rows older than the retention period. */
  async purge(): Promise<number> {
    try {
      return await this.store.requestLog.purge(Date.now() - this.options.retentionDays * DAY_MS);
    } catch (error) {
      this.log.warn({ err: error }, 'purging old request-log rows failed; retrying in an hour');
      return 0;
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (this.purgeTimer) clearInterval(this.purgeTimer);
    await this.flush();
  }
}
