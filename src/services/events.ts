/** A typed, synchronous event bus. Listeners must not throw; failures are logged, not raised. */
import type { Logger } from 'pino';
import type { DomainEvent, DomainEventType, EventOf } from '../domain/events.js';

type Listener<T extends DomainEventType> = (event: EventOf<T>) => void;
type AnyListener = (event: DomainEvent) => void;

export class EventBus {
  private readonly listeners = new Map<string, AnyListener[]>();
  private readonly everything: AnyListener[] = [];

  constructor(private readonly log: Logger) {}

  on<T extends DomainEventType>(type: T, listener: Listener<T>): void {
    const list = this.listeners.get(type) ?? [];
    list.push(listener as AnyListener);
    this.listeners.set(type, list);
  }

  onAny(listener: AnyListener): void {
    this.everything.push(listener);
  }

  emit(event: DomainEvent): void {
    for (const listener of [...(this.listeners.get(event.type) ?? []), ...this.everything]) {
      try {
        listener(event);
      } catch (error) {
        this.log.error(
          { err: error, event: event.type },
          'event listener failed; the event was still applied',
        );
      }
    }
  }
}
