/**
 * Turns domain events into audit rows and writes them in batches. Events never carry secrets,
 * so nothing here can put one in the audit log. Writes happen off the request path; a failed
 * write is retried at the next flush and logged. Events written by `auditWithChange` in the
 * transaction of their change are the exception.
 */
import type { Logger } from 'pino';
import type { DomainEvent } from '../domain/events.js';
import type { AuditInsert, AuditStore } from '../store/audit.js';
import type { EventBus } from './events.js';

/** Events too frequent for the audit log; metrics count them instead. */
const NOT_AUDITED = new Set<DomainEvent['type']>(['token.issued']);
const MAX_PENDING = 100_000;

/** Events whose row `auditWithChange` already wrote, which the recorder skips. */
const writtenWithChange = new WeakSet<DomainEvent>();

/**
 * Write an event's audit row through `audit`, a store bound to the caller's transaction, so the
 * row commits or rolls back with the change it records. A batched row would be lost if the
 * process died after the commit and before the next flush. Emit the same event object after the
 * commit, and the recorder skips it.
 */
export async function auditWithChange(audit: AuditStore, event: DomainEvent): Promise<void> {
  await audit.append([toRow(event)]);
  writtenWithChange.add(event);
}

function toRow(event: DomainEvent): AuditInsert {
  const { type, at, actor, ...rest } = event;
  const data = rest as Record<string, unknown>;
  return {
    at,
    actor_kind: actor.kind,
    actor_id: actor.id,
    address: actor.address ?? null,
    action: type,
    outcome:
      type === 'grant.refused' || type === 'refresh.reuse_detected' || type === 'session.refused'
        ? 'refused'
        : 'success',
    platform_id: typeof data.platformId === 'string' ? data.platformId : null,
    environment: typeof data.environment === 'string' ? data.environment : null,
    data: JSON.stringify(data),
  };
}

export class AuditRecorder {
  private pending: AuditInsert[] = [];
  private dropped = 0;
  /** Events dropped since start, for the metrics. */
  droppedTotal = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly audit: AuditStore,
    private readonly log: Logger,
    private readonly intervalMs = 1_000,
  ) {}

  listen(events: EventBus): void {
    events.onAny((event) => {
      if (NOT_AUDITED.has(event.type) || writtenWithChange.has(event)) return;
      if (this.pending.length >= MAX_PENDING) {
        this.dropped++;
        this.droppedTotal++;
        return;
      }
      this.pending.push(toRow(event));
    });
  }

  start(): void {
    this.timer = setInterval(() => void this.flush(), this.intervalMs);
    this.timer.unref();
  }

  async flush(): Promise<void> {
    if (this.dropped > 0) {
      this.log.error(
        { dropped: this.dropped },
        'audit events were dropped because the database did not accept writes',
      );
      this.dropped = 0;
    }
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    try {
      await this.audit.append(batch);
    } catch (error) {
      this.pending = batch.concat(this.pending);
      this.log.error(
        { err: error, events: batch.length },
        'writing audit events failed; retrying at the next flush',
      );
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.flush();
  }
}
