/**
 * The way into the event bus for every source: events of one camera are stored in the order they happened,
 * even when one takes time to gather (its snapshot), so a stop can never overtake its start. A snapshot is
 * written to its file (asynchronously) before the event's transaction. A store that cannot be written (a
 * PostgreSQL restart) is tried again with a backoff for up to `retryForMs`, the camera's later events
 * waiting behind, so a database restart loses nothing; after that the event is logged as lost.
 */
import type { Logger } from "pino";
import type { JsonValue } from "../protocol/kv.ts";
import type { EventBus } from "./bus.ts";
import type { NewEvent, StorableEvent } from "./model.ts";
import type { EventStore } from "./store.ts";

export class EventPublisher {
  /** Per-camera chains: each camera's next event is stored after its previous one. */
  private readonly chains = new Map<string, Promise<void>>();
  private closing = false;
  /** Attempts the store refused and that were made again; events given up on. */
  retried = 0;
  lost = 0;

  constructor(
    private readonly bus: EventBus,
    private readonly store: EventStore,
    private readonly logger: Logger,
    private readonly retryForMs = 60_000,
  ) {}

  /** Publishes an event (after any earlier event of the same camera), resolving when it is stored. */
  publish(event: NewEvent): Promise<void> {
    return this.publishLater(event.camera, async () => event);
  }

  /** Queues an event whose contents take time to gather: it is built and stored after the camera's earlier ones. */
  publishLater(camera: string, build: () => Promise<NewEvent>): Promise<void> {
    const previous = this.chains.get(camera) ?? Promise.resolve();
    const settled = previous
      .then(async () => this.storable(await build()))
      .then((event) => this.storeRetrying(event))
      .catch((error: unknown) => {
        this.lost++;
        this.logger.error({ err: error, camera }, "storing an event failed; it is lost");
      });
    this.chains.set(camera, settled);
    return settled;
  }

  /** A gateway event (CameraOffline, StreamStalled, ...). */
  gatewayEvent(
    camera: string,
    code: string,
    data: JsonValue,
    action: "pulse" | "start" | "stop" = "pulse",
  ): Promise<void> {
    return this.publish({ camera, source: "gateway", code, action, channel: 0, data, cameraTime: null });
  }

  private async storeRetrying(event: StorableEvent): Promise<void> {
    const started = Date.now();
    for (let wait = 200; ; wait = Math.min(wait * 2, 5000)) {
      try {
        await this.bus.publish(event);
        return;
      } catch (error) {
        if (this.closing || Date.now() - started + wait > this.retryForMs) throw error;
        if (wait === 200)
          this.logger.warn(
            { err: error, camera: event.camera, code: event.code },
            "storing an event failed; trying again (the camera's later events wait)",
          );
        this.retried++;
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
  }

  private async storable(event: NewEvent): Promise<StorableEvent> {
    const { snapshotJpeg, ...rest } = event;
    if (!snapshotJpeg) return rest;
    try {
      return { ...rest, snapshotFile: await this.store.saveSnapshot(snapshotJpeg) };
    } catch (error) {
      // A full disk must not cost the event itself.
      this.logger.warn(
        { err: error, camera: event.camera, code: event.code },
        "saving an event's snapshot failed; the event is stored without it",
      );
      return rest;
    }
  }

  /** Resolves when everything published so far is stored; a store still refusing is not waited for. */
  async drain(): Promise<void> {
    this.closing = true;
    await Promise.all(this.chains.values());
  }
}
