/** The frame hubs of all cameras, made on first use, one per (camera, channel, subtype). */
import type { CameraEntry, CameraRegistry } from "../camera/registry.ts";
import type { StreamDown } from "../camera/stream-status.ts";
import { FrameHub, type HubStats } from "./frame-hub.ts";

export interface RelayOptions {
  lingerMs: number;
  stallMs: number;
  offlineFrames: boolean;
  /** Cameras whose default stream stays open with no viewer. */
  preload: ReadonlySet<string>;
}

export type StallListener = (camera: string, channel: number, subtype: number, down: StreamDown) => void;

export class HubRegistry {
  private readonly hubs = new Map<string, FrameHub>();
  private readonly stallListeners = new Set<StallListener>();
  private readonly unsubscribes: (() => void)[] = [];

  constructor(
    cameras: CameraRegistry,
    private readonly options: RelayOptions,
  ) {
    this.unsubscribes.push(
      cameras.watch({
        // A camera seen again (any call succeeded) gets its streams back at once, not after the backoff.
        health: (entry, health, previous) => {
          if (health.state !== "online" || previous.state === "online") return;
          for (const hub of this.hubs.values()) if (hub.stats().camera === entry.id) hub.retryNow();
        },
        added: (entry) => this.preload(entry),
        rerouted: (entry) => {
          for (const hub of this.hubs.values()) if (hub.stats().camera === entry.id) hub.reconnect();
        },
        removed: (entry) => this.closeCamera(entry.id),
      }),
    );
    for (const entry of cameras.list()) this.preload(entry);
  }

  private preload(entry: CameraEntry): void {
    // MJPEG is Dahua's: an ONVIF camera's preload keeps its H.264 main stream open instead (stream hubs).
    if (this.options.preload.has(entry.id) && entry.protocol === "dahua")
      this.hub(entry, entry.mjpeg.channel, entry.mjpeg.subtype);
  }

  /** Ends the camera's hubs (removed from the config): their viewers' answers end. */
  closeCamera(camera: string): void {
    for (const [key, hub] of this.hubs)
      if (hub.stats().camera === camera) {
        hub.close();
        this.hubs.delete(key);
      }
  }

  /** The hub of (camera, channel, subtype) if it was ever made. */
  existing(camera: string, channel: number, subtype: number): FrameHub | undefined {
    return this.hubs.get(`${camera}/${channel}/${subtype}`);
  }

  /** How many of the camera's hubs hold (or want) an upstream connection. */
  runningCount(camera: string): number {
    let running = 0;
    for (const hub of this.hubs.values()) if (hub.isRunning && hub.stats().camera === camera) running++;
    return running;
  }

  hub(entry: CameraEntry, channel: number, subtype: number): FrameHub {
    const key = `${entry.id}/${channel}/${subtype}`;
    let hub = this.hubs.get(key);
    if (!hub) {
      hub = new FrameHub({
        cameraId: entry.id,
        cameraName: entry.name,
        session: entry.session,
        channel,
        subtype,
        lingerMs: this.options.lingerMs,
        stallMs: this.options.stallMs,
        preload:
          this.options.preload.has(entry.id) &&
          channel === entry.mjpeg.channel &&
          subtype === entry.mjpeg.subtype,
        offlineFrames: this.options.offlineFrames,
        onStall: (down) => {
          for (const listener of this.stallListeners) listener(entry.id, channel, subtype, down);
        },
      });
      this.hubs.set(key, hub);
    }
    return hub;
  }

  /** Tells `listener` about every upstream stall (no frame for `stallMs`); returns the unsubscribe. */
  onStall(listener: StallListener): () => void {
    this.stallListeners.add(listener);
    return () => this.stallListeners.delete(listener);
  }

  /** A live hub of this camera and channel (any subtype) whose latest frame is at most `maxAgeMs` old. */
  freshFrame(cameraId: string, channel: number, maxAgeMs: number): Buffer | undefined {
    const now = Date.now();
    for (const hub of this.hubs.values()) {
      const stats = hub.stats();
      if (stats.camera !== cameraId || stats.channel !== channel || !hub.isLive) continue;
      const frame = hub.latestFrame();
      if (frame && now - frame.receivedAt <= maxAgeMs) return frame.jpeg;
    }
    return undefined;
  }

  list(): FrameHub[] {
    return [...this.hubs.values()];
  }

  stats(): HubStats[] {
    return this.list().map((hub) => hub.stats());
  }

  close(): void {
    for (const unsubscribe of this.unsubscribes.splice(0)) unsubscribe();
    for (const hub of this.hubs.values()) hub.close();
    this.hubs.clear();
  }
}
