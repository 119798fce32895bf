/**
 * The way into the event bus for every source: events of one camera are stored in the order they happened,
 * even when one takes time to gather (its snapshot), so a stop can never overtake its start. A snapshot is
 * written to its file (asynchronously) before the event's transaction.
 */
import type { Logger } from "pino";
import type { JsonValue } from "../protocol/kv.ts";
import type { EventBus } from "./bus.ts";
import type { NewEvent, StorableEvent } from "./model.ts";
import type { EventStore } from "./store.ts";

export class EventPublisher {
  /** Per-camera chains: each camera's next event is stored after its previous one. */
  private readonly chains = new Map<string, Promise<void>>();

  constructor(
    private readonly bus: EventBus,
    private readonly store: EventStore,
    private readonly logger: Logger,
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
      .then(async (event) => void (await this.bus.publish(event)))
      .catch((error: unknown) => this.logger.error({ err: error, camera }, "storing an event failed"));
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

  /** Resolves when everything published so far is stored. */
  async drain(): Promise<void> {
    await Promise.all(this.chains.values());
  }
}
