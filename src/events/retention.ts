/** Event retention: by age and count, at start and hourly; delivered outbox rows go after a week. */
import type { Logger } from "pino";
import type { EventsConfig } from "../config/schema.ts";
import type { Outbox } from "./outbox.ts";
import type { EventStore } from "./store.ts";

const EVERY_MS = 3_600_000;
const DELIVERED_KEPT_MS = 7 * 86_400_000;

export class EventRetention {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly retention: EventsConfig["retention"],
    private readonly store: EventStore,
    private readonly outbox: Outbox,
    private readonly logger: Logger,
  ) {}

  start(): void {
    void this.run();
    this.timer = setInterval(() => void this.run(), EVERY_MS);
    this.timer.unref();
  }

  /** Stops the schedule and waits for a run in progress (it holds the database). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  run(): Promise<void> {
    this.running ??= this.prune().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async prune(): Promise<void> {
    try {
      const removed = await this.store.prune(this.retention.days * 86_400_000, this.retention.maxEvents);
      await this.outbox.prune(DELIVERED_KEPT_MS);
      if (removed > 0) this.logger.info({ removed }, "event retention");
    } catch (error) {
      this.logger.error({ err: error }, "event retention failed");
    }
  }
}
