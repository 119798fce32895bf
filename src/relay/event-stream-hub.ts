/**
 * One upstream event stream per camera (`eventManager.cgi?action=attach`), whoever listens: the event
 * pipeline and any number of passthrough clients share it, as MJPEG viewers share a FrameHub, so a viewer
 * attaching ten times costs the camera no extra connection. It starts with its first listener and stops a
 * linger after its last one (the pipeline keeps it open while events are on).
 */
import { type CameraEventNotice, type CameraEventSource, CameraEventStream } from "../camera/events.ts";
import { OnvifEventStream } from "../camera/onvif/onvif-events.ts";
import type { CameraEntry, CameraRegistry } from "../camera/registry.ts";
import { StreamNarrator } from "../camera/stream-narrator.ts";
import type { StreamDown, StreamState } from "../camera/stream-status.ts";
import { SharedUpstream } from "./shared-upstream.ts";

export interface EventListener {
  onNotice?: (notice: CameraEventNotice) => void;
  /** The camera's own part text (what a passthrough client is sent), with its code. */
  onPart?: (body: string, code: string) => void;
  onStatus?: (state: StreamState, down: StreamDown | undefined) => void;
  onReconnect?: () => void;
}

export interface EventStreamOptions {
  /** The codes to subscribe to for a camera (`All`, or its configured list). */
  codesFor: (camera: string) => readonly string[];
  heartbeatSeconds: number;
  lingerMs: number;
  /** First reconnect delay (default 1 s, doubling to 30 s). */
  backoffMinMs?: number;
}

export class EventStreamHub {
  readonly stream: CameraEventSource;
  private readonly listeners: SharedUpstream<EventListener>;

  constructor(
    readonly entry: CameraEntry,
    codes: readonly string[],
    heartbeatSeconds: number,
    lingerMs: number,
    backoffMinMs?: number,
  ) {
    this.listeners = new SharedUpstream<EventListener>({
      lingerMs,
      preload: false,
      start: () => this.stream.start(),
      stop: () => this.stream.stop(),
    });
    const each = (call: (listener: EventListener) => void) => {
      for (const listener of this.listeners.readers) call(listener);
    };
    const backoff =
      backoffMinMs !== undefined ? { backoffMinMs, backoffMaxMs: Math.max(backoffMinMs, 30_000) } : {};
    const say = new StreamNarrator(entry.session, entry.onvif ? "ONVIF event subscription" : "event stream");
    const onRetry = (down: StreamDown, retryInMs: number) => say.down(down, retryInMs);
    const onStatus = (state: StreamState, down: StreamDown | undefined) => {
      if (state === "live") say.live();
      each((l) => l.onStatus?.(state, down));
    };
    // An ONVIF camera's PullPoint: no camera part text, so passthrough clients of the CGI stream get none.
    this.stream = entry.onvif
      ? new OnvifEventStream({
          camera: entry.onvif,
          codes,
          onEvent: (notice) => each((l) => l.onNotice?.(notice)),
          onState: onStatus,
          onRetry,
          onReconnect: () => each((l) => l.onReconnect?.()),
          ...backoff,
        })
      : new CameraEventStream({
          api: entry.api,
          codes,
          heartbeatSeconds,
          onEvent: (notice) => each((l) => l.onNotice?.(notice)),
          onPart: (body, code) => each((l) => l.onPart?.(body, code)),
          onState: onStatus,
          onRetry,
          onReconnect: () => each((l) => l.onReconnect?.()),
          ...backoff,
        });
  }

  get listenerCount(): number {
    return this.listeners.size;
  }

  /** Starts the stream if needed; the returned function ends this listener's share. */
  listen(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.remove(listener);
  }

  close(): void {
    this.listeners.close();
  }
}

/** The event stream hubs, one per camera, made on first use. */
export class EventStreams {
  private readonly hubs = new Map<string, EventStreamHub>();
  private readonly unsubscribes: (() => void)[] = [];

  constructor(
    cameras: CameraRegistry,
    private readonly options: EventStreamOptions,
  ) {
    // Events are lost while a stream waits out its backoff: when the camera is seen again, reconnect now.
    this.unsubscribes.push(
      cameras.watch({
        health: (entry, health, previous) => {
          if (health.state === "online" && previous.state !== "online")
            this.hubs.get(entry.id)?.stream.retryNow();
        },
        removed: (entry) => this.closeCamera(entry.id),
        // Reached another way now: the stream's listeners (passthrough attach clients) end and come back;
        // the owner's own event sources start on the new stream when they are told the camera is theirs.
        rerouted: (entry) => this.closeCamera(entry.id),
      }),
    );
  }

  private closeCamera(camera: string): void {
    this.hubs.get(camera)?.close();
    this.hubs.delete(camera);
  }

  hub(entry: CameraEntry): EventStreamHub {
    let hub = this.hubs.get(entry.id);
    if (!hub) {
      hub = new EventStreamHub(
        entry,
        this.options.codesFor(entry.id),
        this.options.heartbeatSeconds,
        this.options.lingerMs,
        this.options.backoffMinMs,
      );
      this.hubs.set(entry.id, hub);
    }
    return hub;
  }

  /** The running stream of a camera, if any hub was made for it. */
  get(camera: string): CameraEventSource | undefined {
    return this.hubs.get(camera)?.stream;
  }

  close(): void {
    for (const unsubscribe of this.unsubscribes.splice(0)) unsubscribe();
    for (const hub of this.hubs.values()) hub.close();
    this.hubs.clear();
  }
}
