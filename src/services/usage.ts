/**
 * Records when each secret was last used, in memory, and writes the times in one batch every
 * few seconds, so that no authenticated request waits for a database write.
 */
import type { Logger } from 'pino';
import type { SecretStore } from '../store/secrets.js';

export class UsageRecorder {
  private pending = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly secrets: SecretStore,
    private readonly log: Logger,
    private readonly intervalMs = 5_000,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.flush(), this.intervalMs);
    this.timer.unref();
  }

  record(secretId: string, at: number): void {
    this.pending.set(secretId, at);
  }

  async flush(): Promise<void> {
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    try {
      await this.secrets.touch(batch);
    } catch (error) {
      // Put the times back unless a newer use replaced them, and try again at the next flush.
      for (const [id, at] of batch) if (!this.pending.has(id)) this.pending.set(id, at);
      this.log.warn(
        { err: error, secrets: batch.size },
        'recording last use of secrets failed; retrying at the next flush',
      );
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.flush();
  }
}
