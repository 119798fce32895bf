/**
 * Drains one outbox target in order: the oldest pending delivery goes first, retried with backoff, and the
 * next waits for it. Woken by new work and by its retry time; `send` does the actual delivery.
 */
import type { CamgateEvent } from "./model.ts";
import type { Delivery, Outbox } from "./outbox.ts";
import type { EventStore } from "./store.ts";

export type Sender = (event: CamgateEvent, delivery: Delivery) => Promise<void>;

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
      const head = this.outbox.head(this.target);
      if (!head || !this.ready()) {
        await this.sleep(head ? 1000 : 60_000);
        continue;
      }
      const wait = head.nextAt - Date.now();
      if (wait > 0) {
        await this.sleep(wait);
        continue;
      }
      const event = this.store.get(head.eventId);
      if (!event) {
        // The event was pruned by retention before it could be delivered.
        this.outbox.failed({ ...head, createdAt: 0 }, "the event no longer exists");
        continue;
      }
      try {
        await this.send(event, head);
        if (this.stopped) return;
        this.outbox.delivered(head);
        this.sent++;
        this.lastError = undefined;
      } catch (error) {
        if (this.stopped) return;
        this.failures++;
        this.lastError = error instanceof Error ? error.message : String(error);
        this.outbox.failed(head, this.lastError);
      }
    }
  }
}
