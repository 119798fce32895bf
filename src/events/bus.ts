/**
 * The event pipeline's spine: an event is stored, with a durable delivery row per interested target, in one
 * transaction, before any delivery starts; then live listeners (SSE, MQTT state) hear
 * of it and the delivery workers are woken.
 */
import type { CamgateEvent, StorableEvent } from "./model.ts";
import type { Outbox } from "./outbox.ts";
import type { EventStore } from "./store.ts";

export type EventListener = (event: CamgateEvent) => void;

/** Decides which durable targets (webhooks, MQTT) get an event. */
export type TargetRouter = (event: CamgateEvent) => string[];

export class EventBus {
  private readonly listeners = new Set<EventListener>();
  private readonly routers: TargetRouter[] = [];
  published = 0;
  listenerFailures = 0;

  constructor(
    readonly store: EventStore,
    readonly outbox: Outbox,
    /** Told when a live listener throws (it does not stop the others or the publisher). */
    private readonly onListenerError: (error: unknown, event: CamgateEvent) => void = () => undefined,
  ) {}

  addRouter(router: TargetRouter): void {
    this.routers.push(router);
  }

  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async publish(event: StorableEvent): Promise<CamgateEvent> {
    let targets: string[] = [];
    const stored = await this.store.sql.transaction(async (tx) => {
      const inserted = await this.store.insert(tx, event);
      targets = [...new Set(this.routers.flatMap((route) => route(inserted)))];
      for (const target of targets) await this.outbox.enqueue(tx, target, inserted);
      return inserted;
    });
    this.published++;
    for (const target of targets) this.outbox.notify(target);
    for (const listener of this.listeners) {
      try {
        listener(stored);
      } catch (error) {
        this.listenerFailures++;
        this.onListenerError(error, stored);
      }
    }
    return stored;
  }
}
