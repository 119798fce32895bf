/**
 * Drains one outbox target: claims the next delivery (each camera's in order: the next waits for the one
 * before, retried with backoff), sends it, and marks it. Woken by new work, by its retry time, and every
 * `idlePollMs` (another instance's work, a claim that lapsed); `send` does the actual delivery.
 */
import type { CamgateEvent } from "./model.ts";
import type { Delivery, Outbox } from "./outbox.ts";
import type { EventStore } from "./store.ts";

export type Sender = (event: CamgateEvent, delivery: Delivery) => Promise<void>;

export interface DeliveryWorkerOptions {
  /** How long a claim keeps a delivery from other workers: longer than a send can take. */
  claimMs: number;
  /** How long an idle worker waits before it looks again without being told of work (other instances'). */
  idlePollMs: number;
  /** Only these cameras' deliveries (MQTT's retained state comes from each camera's owner); default all. */
  cameras?: () => readonly string[];
}

export const DEFAULT_WORKER_OPTIONS: DeliveryWorkerOptions = { claimMs: 20_000, idlePollMs: 60_000 };

export class DeliveryWorker {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private stopped = false;
  private wake: (() => void) | undefined;
  private readonly unsubscribe: () => void;
  sent = 0;
  failures = 0;
  lastError: string | undefined;

  constructor(
    readonly target: string,
    private readonly outbox: Outbox,
    private readonly store: EventStore,
    private readonly send: Sender,
    private readonly ready: () => boolean = () => true,
    private readonly options: DeliveryWorkerOptions = DEFAULT_WORKER_OPTIONS,
  ) {
    this.unsubscribe = outbox.onWork((target) => {
      if (target === this.target) this.poke();
    });
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    void this.loop();
  }

  /** New work or a reconnect: look again now. */
  poke(): void {
    this.wake?.();
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribe();
    if (this.timer) clearTimeout(this.timer);
    this.wake?.();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wake = () => {
        if (this.timer) clearTimeout(this.timer);
        this.timer = undefined;
        this.wake = undefined;
        resolve();
      };
      this.timer = setTimeout(() => this.wake?.(), ms);
    });
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      if (!this.ready()) {
        await this.sleep(1000);
        continue;
      }
      try {
        const cameras = this.options.cameras?.();
        const delivery = await this.outbox.claim(this.target, this.options.claimMs, cameras);
        if (!delivery) {
          const due = await this.outbox.nextDue(this.target, cameras);
          const wait = due === undefined ? this.options.idlePollMs : due - Date.now();
          await this.sleep(Math.max(10, Math.min(wait, this.options.idlePollMs)));
          continue;
        }
        await this.deliver(delivery);
      } catch (error) {
        // The database is away (a PostgreSQL restart): look again shortly; what was claimed lapses and is
        // claimed again.
        this.lastError = error instanceof Error ? error.message : String(error);
        if (!this.stopped) await this.sleep(1000);
      }
    }
  }

  private async deliver(delivery: Delivery): Promise<void> {
    const event = await this.store.get(delivery.eventId);
    if (!event) {
      // The event was pruned by retention before it could be delivered.
      await this.outbox.failed({ ...delivery, createdAt: 0 }, "the event no longer exists");
      return;
    }
    try {
      await this.send(event, delivery);
    } catch (error) {
      if (this.stopped) return;
      this.failures++;
      this.lastError = error instanceof Error ? error.message : String(error);
      await this.outbox.failed(delivery, this.lastError);
      return;
    }
    if (this.stopped) return;
    await this.outbox.delivered(delivery);
    this.sent++;
    this.lastError = undefined;
  }
}
