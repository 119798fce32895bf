/**
 * The cameras' event streams as event sources: each camera's shared event stream (`relay/event-stream-hub.ts`,
 * unless events are off for it), each notice published in the camera's order, with a snapshot for the
 * configured codes taken through the `SnapshotService` (the live frame when a stream runs, else one shared
 * camera call).
 */

import type { CameraEventSource } from "../camera/events.ts";
import type { CameraEntry, CameraSet } from "../camera/registry.ts";
import type { Config } from "../config/schema.ts";
import type { JsonValue } from "../protocol/kv.ts";
import type { EventStreams } from "../relay/event-stream-hub.ts";
import type { SnapshotService } from "../relay/snapshot.ts";
import { isDoorbellPress } from "./alert-kinds.ts";
import type { GatewayWatch } from "./gateway-watch.ts";
import { type EventAction, normaliseAction } from "./model.ts";
import type { EventPublisher } from "./publisher.ts";

/** How long an event waits for its snapshot before it is stored without one. */
const SNAPSHOT_WAIT_MS = 5000;
/** A live frame this old still shows the moment of the event. */
const SNAPSHOT_MAX_AGE_MS = 2000;

export class CameraEventSources {
  /** The streams this source listens to, by camera. */
  readonly streams = new Map<string, CameraEventSource>();
  /** Per camera, what to undo when it is removed or the sources stop. */
  private readonly unsubscribes = new Map<string, () => void>();
  private unwatch: (() => void) | undefined;

  constructor(
    private readonly config: Config,
    private readonly cameras: CameraSet,
    private readonly eventStreams: EventStreams,
    private readonly snapshots: SnapshotService,
    private readonly publisher: EventPublisher,
    private readonly watch: GatewayWatch,
  ) {}

  start(): void {
    if (!this.config.events.enabled) return;
    for (const entry of this.cameras.list()) this.startStream(entry);
    this.unwatch = this.cameras.watch({
      added: (entry) => this.startStream(entry),
      removed: (entry) => this.stopStream(entry.id),
    });
  }

  stop(): void {
    this.unwatch?.();
    for (const camera of [...this.unsubscribes.keys()]) this.stopStream(camera);
  }

  private stopStream(camera: string): void {
    this.unsubscribes.get(camera)?.();
    this.unsubscribes.delete(camera);
    this.streams.delete(camera);
  }

  private startStream(entry: CameraEntry): void {
    const override = this.config.cameras.find((c) => c.id === entry.id)?.events;
    if (override?.enabled === false) return;
    const hub = this.eventStreams.hub(entry);
    this.streams.set(entry.id, hub.stream);
    this.unsubscribes.set(
      entry.id,
      hub.listen({
        onNotice: (notice) =>
          void this.cameraEvent(
            entry,
            notice.code,
            normaliseAction(notice.action),
            notice.index,
            notice.data ?? null,
            notice.synthetic,
          ),
        onStatus: (status, down) => {
          if (status === "down" && down) this.watch.eventStreamDown(entry.id, down);
        },
        onReconnect: () => void this.watch.eventStreamBack(entry),
      }),
    );
    void this.watch.eventStreamStarted(entry);
  }

  private cameraEvent(
    entry: CameraEntry,
    code: string,
    action: EventAction,
    index: number,
    data: JsonValue,
    synthetic: boolean,
  ): Promise<void> {
    // A beginning (a start, or a pulse: a tripwire crossed) of a snapshot code, and every doorbell press:
    // the picture is what a notification shows.
    const wantsSnapshot =
      ((action === "start" || action === "pulse") &&
        this.config.events.snapshotCodes.some((c) => c === "*" || c === code)) ||
      (action === "pulse" && isDoorbellPress({ code, data }));
    return this.publisher.publishLater(entry.id, async () => {
      const snapshotJpeg = wantsSnapshot ? await this.snapshotFor(entry, index + 1) : undefined;
      return {
        camera: entry.id,
        source: "camera",
        code,
        action,
        channel: index,
        data: synthetic
          ? { synthetic: true, reason: "the state ended while the event stream was down" }
          : data,
        cameraTime: cameraTimeOf(data),
        ...(snapshotJpeg ? { snapshotJpeg } : {}),
      };
    });
  }

  /** A snapshot for the event, or none if it does not come within SNAPSHOT_WAIT_MS (the event is not held up). */
  private async snapshotFor(entry: CameraEntry, channel: number): Promise<Buffer | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), SNAPSHOT_WAIT_MS);
    });
    const snapshot = this.snapshots
      .get({ camera: entry.id, channel, maxAgeMs: SNAPSHOT_MAX_AGE_MS, priority: "background" })
      .then(
        (result) => result.jpeg,
        (error: unknown) => {
          entry.session.warn("no snapshot for an event", {
            err: error instanceof Error ? error.message : String(error),
          });
          return undefined;
        },
      );
    try {
      return await Promise.race([snapshot, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * Newer firmware puts `LocaleTime` in the data (rroller/dahua#456), as `2024-05-01 12:34:56`. Trusted only
 * in that form (issue 27): other firmware writes other things there, and a time that is not one is kept
 * in the raw data, not as the camera's time.
 */
function cameraTimeOf(data: JsonValue): string | null {
  if (
    data !== null &&
    typeof data === "object" &&
    !Array.isArray(data) &&
    typeof data.LocaleTime === "string" &&
    LOCALE_TIME.test(data.LocaleTime)
  ) {
    const text = data.LocaleTime.replace(" ", "T");
    return Number.isNaN(Date.parse(text)) ? null : text;
  }
  return null;
}

const LOCALE_TIME = /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}$/;
