/**
 * Every instance's live event feed carries every camera's events: an instance announces each event it
 * stores with `pg_notify` inside the event's transaction (so only committed events are announced, in commit
 * order), and every other instance LISTENs on one connection of its own, reads the announced event and
 * hands it to its bus's cluster-wide listeners (SSE). Deliveries do not use this: they go through the
 * shared outbox. A lost connection is made again with a backoff; what was announced meanwhile reaches a
 * feed's client when it reconnects with Last-Event-ID (the store has it).
 */
import type pg from "pg";
import type { EventBus } from "../events/bus.ts";
import type { CamgateEvent } from "../events/model.ts";
import { loadPg } from "../storage/pg-module.ts";
import type { Sql } from "../storage/sql.ts";

export const EVENT_CHANNEL = "camgate_events";

/** At most this many announcements wait to be read; past it the oldest are dropped (a feed can replay). */
const MAX_QUEUED = 10_000;

export interface EventRelayOptions {
  url: string;
  instance: string;
  bus: EventBus;
  /** Reads an announced event from the shared store. */
  read: (id: string) => Promise<CamgateEvent | undefined>;
  onError?: (error: unknown) => void;
}

/** What an instance announces in an event's transaction. */
export async function announceEvent(tx: Sql, instance: string, event: CamgateEvent): Promise<void> {
  await tx.get("SELECT pg_notify(?, ?)", [EVENT_CHANNEL, `${instance} ${event.id}`]);
}

export class ClusterEventRelay {
  private client: pg.Client | undefined;
  private stopped = false;
  private retryMs = 500;
  private timer: NodeJS.Timeout | undefined;
  private readonly queue: string[] = [];
  private draining = false;
  relayed = 0;

  constructor(private readonly options: EventRelayOptions) {}

  async start(): Promise<void> {
    await this.connect().catch((error: unknown) => this.failed(error));
  }

  private async connect(): Promise<void> {
    const { Client } = await loadPg();
    const client = new Client({ connectionString: this.options.url });
    this.client = client;
    client.on("error", (error) => this.lost(client, error));
    client.on("end", () => this.lost(client, new Error("the database closed the connection")));
    client.on("notification", (message) => {
      if (message.channel !== EVENT_CHANNEL || !message.payload) return;
      const [from, id] = message.payload.split(" ");
      if (!id || from === this.options.instance) return;
      this.queue.push(id);
      if (this.queue.length > MAX_QUEUED) this.queue.shift();
      void this.drain();
    });
    await client.connect();
    await client.query(`LISTEN ${EVENT_CHANNEL}`);
    this.retryMs = 500;
  }

  private lost(client: pg.Client, error: unknown): void {
    if (this.client !== client || this.stopped) return;
    this.client = undefined;
    client.removeAllListeners();
    client.on("error", () => undefined);
    void client.end().catch(() => undefined);
    this.retryLater(error);
  }

  /** A connect that failed: that client is let go, and another is tried later. */
  private failed(error: unknown): void {
    const client = this.client;
    if (client) this.lost(client, error);
    else this.retryLater(error);
  }

  private retryLater(error: unknown): void {
    if (this.stopped) return;
    this.options.onError?.(error);
    clearTimeout(this.timer);
    this.timer = setTimeout(
      () => void this.connect().catch((again: unknown) => this.failed(again)),
      this.retryMs,
    );
    this.retryMs = Math.min(this.retryMs * 2, 10_000);
  }

  /** One read at a time, so the feed hears the events in the order they were announced. */
  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      for (let id = this.queue.shift(); id !== undefined && !this.stopped; id = this.queue.shift()) {
        const event = await this.options.read(id).catch((error: unknown) => {
          this.options.onError?.(error);
          return undefined;
        });
        if (event) {
          this.relayed++;
          this.options.bus.relay(event);
        }
      }
    } finally {
      this.draining = false;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    const client = this.client;
    this.client = undefined;
    if (client) {
      client.removeAllListeners();
      client.on("error", () => undefined);
      await client.end().catch(() => undefined);
    }
  }
}
