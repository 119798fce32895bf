/**
 * Snapshots without waiting: while a live hub of the camera has a frame younger than
 * `maxAge`, that frame is the answer (no camera request); otherwise concurrent requests share one
 * `snapshot.cgi` call (single flight) whose result is cached for `maxAge`. Resized images are cached by size,
 * so a resized request never gets the full-size picture or the other way round. When the camera cannot be
 * reached, the last good picture can be served, marked stale, on request.
 */
import type { Priority } from "../camera/budget.ts";
import type { CameraRegistry } from "../camera/registry.ts";
import { loadSharp } from "../util/lazy-sharp.ts";
import type { HubRegistry } from "./hub-registry.ts";

export interface SnapshotRequest {
  camera: string;
  channel: number;
  /** Accept a picture this old (ms); default 1000. */
  maxAgeMs?: number;
  /** Resize to this width (keeping the aspect ratio). */
  width?: number;
  /** Serve the last good picture when the camera fails. */
  allowStale?: boolean;
  /** The camera call's place in the budget queue (default interactive); a shared call keeps the first's. */
  priority?: Priority;
}

export interface Snapshot {
  jpeg: Buffer;
  /** When the picture was taken (received), ms since epoch. */
  takenAt: number;
  source: "live" | "cache" | "camera" | "stale";
}

interface Cached {
  jpeg: Buffer;
  takenAt: number;
}

const MAX_CACHE_ENTRIES = 256;

export class SnapshotService {
  private readonly cache = new Map<string, Cached>();
  private readonly inFlight = new Map<string, Promise<Cached>>();
  /** Camera requests made (for tests and metrics). */
  cameraRequests = 0;

  constructor(
    private readonly cameras: CameraRegistry,
    private readonly hubs: HubRegistry,
  ) {}

  async get(request: SnapshotRequest): Promise<Snapshot> {
    const maxAge = request.maxAgeMs ?? 1000;
    const key = `${request.camera}/${request.channel}/${request.width ?? "full"}`;
    const live = this.hubs.freshFrame(request.camera, request.channel, maxAge);
    if (live) {
      return {
        jpeg: request.width ? await resize(live, request.width) : live,
        takenAt: Date.now(),
        source: "live",
      };
    }
    const cached = this.cache.get(key);
    if (cached && Date.now() - cached.takenAt <= maxAge) return { ...cached, source: "cache" };
    const full = request.width ? this.cache.get(`${request.camera}/${request.channel}/full`) : undefined;
    if (full && request.width && Date.now() - full.takenAt <= maxAge) {
      const resized = { jpeg: await resize(full.jpeg, request.width), takenAt: full.takenAt };
      this.remember(key, resized);
      return { ...resized, source: "cache" };
    }
    try {
      const fresh = await this.singleFlight(key, request);
      return { ...fresh, source: "camera" };
    } catch (error) {
      const stale = this.cache.get(key);
      if (request.allowStale && stale) return { ...stale, source: "stale" };
      throw error;
    }
  }

  private singleFlight(key: string, request: SnapshotRequest): Promise<Cached> {
    const width = request.width;
    if (!width) return this.fullSize(request.camera, request.channel, request.priority);
    const running = this.inFlight.get(key);
    if (running) return running;
    const promise = (async () => {
      const full = await this.fullSize(request.camera, request.channel, request.priority);
      const resized = { jpeg: await resize(full.jpeg, width), takenAt: full.takenAt };
      this.remember(key, resized);
      return resized;
    })();
    this.inFlight.set(key, promise);
    void promise.then(
      () => this.inFlight.delete(key),
      () => this.inFlight.delete(key),
    );
    return promise;
  }

  /** The full-size picture, itself single-flight, so resized and full-size requests share one camera call. */
  private fullSize(camera: string, channel: number, priority: Priority = "interactive"): Promise<Cached> {
    const key = `${camera}/${channel}/full`;
    const running = this.inFlight.get(key);
    if (running) return running;
    const entry = this.cameras.get(camera);
    if (!entry) return Promise.reject(new RangeError(`no camera ${camera} in the registry`));
    const promise = (async () => {
      this.cameraRequests++;
      const jpeg = entry.onvif
        ? await entry.onvif.snapshot("main", priority)
        : await entry.api.snapshot(channel, priority);
      const result = { jpeg, takenAt: Date.now() };
      this.remember(key, result);
      return result;
    })();
    this.inFlight.set(key, promise);
    void promise.then(
      () => this.inFlight.delete(key),
      () => this.inFlight.delete(key),
    );
    return promise;
  }

  private remember(key: string, value: Cached): void {
    this.cache.delete(key);
    this.cache.set(key, value);
    if (this.cache.size > MAX_CACHE_ENTRIES) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
  }
}

async function resize(jpeg: Buffer, width: number): Promise<Buffer> {
  const sharp = await loadSharp();
  return sharp(jpeg).resize({ width, withoutEnlargement: true }).jpeg({ quality: 80 }).toBuffer();
}
