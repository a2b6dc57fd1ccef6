/**
 * Collects one row per gateway call in memory and writes them in batches, so no call waits
 * for the database. The buffer is bounded: rows past `maxPending` are counted and logged as
 * dropped rather than growing memory without limit while the database is away.
 */
import type { Logger } from 'pino';
import type { RequestLogInsert, RequestLogStore } from '../store/request-log.js';

export class RequestLogWriter {
  private pending: RequestLogInsert[] = [];
  private droppedSinceLog = 0;
  private timer: NodeJS.Timeout | undefined;
  dropped = 0;

  constructor(
    private readonly store: RequestLogStore,
    private readonly log: Logger,
    private readonly options: { intervalMs: number; maxPending: number } = {
      intervalMs: 500,
      maxPending: 50_000,
    },
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.flush(), this.options.intervalMs);
    this.timer.unref();
  }

  record(row: RequestLogInsert): void {
    if (this.pending.length >= this.options.maxPending) {
      this.dropped++;
      this.droppedSinceLog++;
      return;
    }
    this.pending.push(row);
  }

  async flush(): Promise<void> {
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
        await this.store.append(batch);
      } catch (error) {
        this.pending = batch.concat(this.pending);
        this.log.warn(
          { err: error, rows: this.pending.length },
          'writing request-log rows failed; retrying at the next flush',
        );
        return;
      }
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.flush();
  }
}
