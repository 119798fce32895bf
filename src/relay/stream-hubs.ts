/** The stream hubs of all cameras, made on first use, one per (camera, upstream path). */
import type { CameraEntry, CameraRegistry } from "../camera/registry.ts";
import { Fmp4Feeds } from "./fmp4-feed.ts";
import { StreamHub, type StreamHubStats } from "./stream-hub.ts";

export interface StreamHubsOptions {
  lingerMs: number;
  /** Cameras whose main stream stays open with no consumer (instant start, a warm GOP cache). */
  preload: ReadonlySet<string>;
}

export type StreamName = "main" | "sub";

export class StreamHubs {
  private readonly hubs = new Map<string, StreamHub>();
  private readonly unsubscribes: (() => void)[] = [];
  /** The fMP4 (MSE) feeds of these hubs, one per hub with viewers. */
  readonly fmp4 = new Fmp4Feeds();

  constructor(
    private readonly cameras: CameraRegistry,
    private readonly options: StreamHubsOptions,
  ) {
    this.unsubscribes.push(
      cameras.watch({
        // A camera seen again gets its streams back at once, not after the reconnect backoff.
        health: (entry, health, previous) => {
          if (health.state !== "online" || previous.state === "online") return;
          for (const hub of this.hubs.values()) if (hub.camera === entry.id) hub.retryNow();
        },
        added: (entry) => {
          if (options.preload.has(entry.id)) this.hub(entry, "main");
        },
        removed: (entry) => this.closeCamera(entry.id),
        rerouted: (entry) => {
          for (const hub of this.hubs.values()) if (hub.camera === entry.id) hub.reconnect();
        },
      }),
    );
    for (const entry of cameras.list()) if (options.preload.has(entry.id)) this.hub(entry, "main");
  }

  /** Ends the camera's hubs (removed from the config): their viewers are told the stream ended. */
  closeCamera(camera: string): void {
    for (const [key, hub] of this.hubs)
      if (hub.camera === camera) {
        hub.close();
        this.hubs.delete(key);
      }
  }

  /** The hub of a camera's main or sub stream, or of another path of the camera (an NVR's channels). */
  hub(entry: CameraEntry, stream: StreamName | { path: string }): StreamHub {
    const path = typeof stream === "string" ? entry.rtsp[stream] : stream.path;
    const name =
      typeof stream === "string"
        ? stream
        : path === entry.rtsp.main
          ? "main"
          : path === entry.rtsp.sub
            ? "sub"
            : path;
    const key = `${entry.id} ${path}`;
    let hub = this.hubs.get(key);
    if (!hub) {
      this.dropUnused();
      hub = new StreamHub({
        entry,
        name,
        path,
        lingerMs: this.options.lingerMs,
        preload: this.options.preload.has(entry.id) && name === "main",
      });
      this.hubs.set(key, hub);
    }
    return hub;
  }

  /**
   * Lets go of hubs of other paths (an NVR's channels) that nobody uses: each holds its stats and metrics
   * labels, and a client naming many paths would otherwise grow them without bound. A camera's main and
   * sub hubs stay (their counters are the camera's).
   */
  private dropUnused(): void {
    for (const [key, hub] of this.hubs)
      if (hub.name !== "main" && hub.name !== "sub" && hub.isUnused) {
        hub.close();
        this.hubs.delete(key);
      }
  }

  list(): StreamHub[] {
    return [...this.hubs.values()];
  }

  stats(): StreamHubStats[] {
    return this.list().map((hub) => hub.stats());
  }

  /** How many hubs of the camera hold (or want) an RTSP session. */
  runningCount(camera: string): number {
    return this.list().filter((hub) => hub.camera === camera && hub.isRunning).length;
  }

  get registry(): CameraRegistry {
    return this.cameras;
  }

  close(): void {
    for (const unsubscribe of this.unsubscribes.splice(0)) unsubscribe();
    for (const hub of this.hubs.values()) hub.close();
    this.hubs.clear();
  }
}
