/**
 * The event pipeline's spine: an event is stored, with a durable delivery row per interested target, in one
 * transaction, before any delivery starts; then live listeners (SSE, MQTT state) hear
 * of it and the delivery workers are woken.
 */
import type { Sql } from "../storage/sql.ts";
import type { CamgateEvent, StorableEvent } from "./model.ts";
import type { Outbox } from "./outbox.ts";
import type { EventStore } from "./store.ts";

export type EventListener = (event: CamgateEvent) => void;

/** Decides which durable targets (webhooks, MQTT) get an event. */
export type TargetRouter = (event: CamgateEvent) => string[];

/** Runs inside an event's transaction once it is stored (the cluster announces it to the other instances). */
export type StoredHook = (tx: Sql, event: CamgateEvent) => Promise<void>;

export class EventBus {
  private readonly listeners = new Set<EventListener>();
  /** Live viewers of every instance's events (SSE): they hear this instance's and the relayed ones. */
  private readonly everywhere = new Set<EventListener>();
  private storedHook: StoredHook | undefined;
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

  /** Hears the events this instance stores (its own cameras, its mail, its gateway events). */
  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Hears every event of the cluster: this instance's, and those `relay` brings from the others. */
  subscribeEverywhere(listener: EventListener): () => void {
    this.everywhere.add(listener);
    return () => this.everywhere.delete(listener);
  }

  /** Runs `hook` in each event's transaction (one hook; set by the cluster). */
  onStored(hook: StoredHook): void {
    this.storedHook = hook;
  }

  /** An event another instance stored: only the cluster-wide listeners hear it. */
  relay(event: CamgateEvent): void {
    this.tell(this.everywhere, event);
  }

  private tell(listeners: Iterable<EventListener>, event: CamgateEvent): void {
    for (const listener of listeners) {
      try {
        listener(event);
      } catch (error) {
        this.listenerFailures++;
        this.onListenerError(error, event);
      }
    }
  }

  async publish(event: StorableEvent): Promise<CamgateEvent> {
    let targets: string[] = [];
    const stored = await this.store.sql.transaction(async (tx) => {
      const inserted = await this.store.insert(tx, event);
      targets = [...new Set(this.routers.flatMap((route) => route(inserted)))];
      for (const target of targets) await this.outbox.enqueue(tx, target, inserted);
      await this.storedHook?.(tx, inserted);
      return inserted;
    });
    this.published++;
    for (const target of targets) this.outbox.notify(target);
    this.tell(this.listeners, stored);
    this.tell(this.everywhere, stored);
    return stored;
  }
}
