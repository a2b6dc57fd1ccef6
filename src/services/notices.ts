/**
 * Notices between nodes. When a node changes something that other nodes cache (a credential,
 * a platform's status, a user, a signing key, a module), it publishes a notice on Redis, and
 * every other node drops or reloads what it cached, within a second. Without Redis, nodes
 * converge through their cache lifetimes instead (see docs/operations.md).
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { DomainEvent } from '../domain/events.js';
import type { EventBus } from './events.js';

export const NOTICE_CHANNEL = 'gatepass:notices';

export type Notice =
  | { kind: 'platform'; platformId: string }
  | { kind: 'user'; userId: string }
  | { kind: 'keys' }
  | { kind: 'modules' };

/** What each node does when another node's notice arrives. */
export interface NoticeHandlers {
  platform(platformId: string): void;
  user(userId: string): void;
  keys(): Promise<void>;
  modules(): Promise<void>;
}

/** The notice an event calls for, if other nodes cache what it changed. */
export function noticeFor(event: DomainEvent): Notice | undefined {
  switch (event.type) {
    case 'platform.suspended':
    case 'platform.resumed':
    case 'platform.live':
    case 'credential.issued':
    case 'credential.revoked':
    case 'credential.rotated':
    case 'module.enabled':
    case 'module.disabled':
    case 'allowlist.updated':
    case 'limits.updated':
      return { kind: 'platform', platformId: event.platformId };
    case 'user.disabled':
    case 'user.enabled':
    case 'user.password_changed':
      return { kind: 'user', userId: event.userId };
    case 'signing_key.rotated':
      return { kind: 'keys' };
    case 'module.created':
    case 'module.updated':
    case 'module.retired':
      return { kind: 'modules' };
    default:
      return undefined;
  }
}

export class NoticeBus {
  /** Tells this node's own notices apart from other nodes'. */
  private readonly origin = randomUUID();

  constructor(
    private readonly publisher: Redis,
    private readonly subscriber: Redis,
    private readonly log: Logger,
  ) {}

  /** Publish a notice for every event that changes what other nodes cache. */
  listen(events: EventBus): void {
    events.onAny((event) => {
      const notice = noticeFor(event);
      if (!notice) return;
      const message = JSON.stringify({ origin: this.origin, notice });
      this.publisher.publish(NOTICE_CHANNEL, message).catch((error: unknown) => {
        this.log.error(
          { err: error, notice: notice.kind },
          'publishing a notice to other nodes failed; they converge through cache expiry',
        );
      });
    });
  }

  async subscribe(handlers: NoticeHandlers): Promise<void> {
    this.subscriber.on('message', (_channel: string, message: string) => {
      let parsed: { origin?: string; notice?: Notice };
      try {
        parsed = JSON.parse(message) as typeof parsed;
      } catch {
        this.log.warn('ignored a malformed notice from Redis');
        return;
      }
      if (parsed.origin === this.origin || !parsed.notice) return;
      void this.apply(parsed.notice, handlers);
    });
    await this.subscriber.subscribe(NOTICE_CHANNEL);
  }

  private async apply(notice: Notice, handlers: NoticeHandlers): Promise<void> {
    try {
      if (notice.kind === 'platform') handlers.platform(notice.platformId);
      else if (notice.kind === 'user') handlers.user(notice.userId);
      else if (notice.kind === 'keys') await handlers.keys();
      else await handlers.modules();
    } catch (error) {
      this.log.warn(
        { err: error, notice: notice.kind },
        'applying a notice from another node failed; the cache expires by itself',
      );
    }
  }
}
