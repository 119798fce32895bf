/**
 * Keeps the storage projection (storage-projection.ts) current: computed at start, hourly and when asked,
 * with the disk's free space; says `RetentionShort` (start, then stop when it holds again) when a camera's
 * projected days fall below its `recording.minDays`, once per change.
 */
import { statfs } from "node:fs/promises";
import type { Logger } from "pino";
import type { Config } from "../config/schema.ts";
import type { EventPublisher } from "../events/publisher.ts";
import { errorText } from "../util/error-text.ts";
import type { RecordingIndex } from "./recording-index.ts";
import { projectStorage, type StorageProjection } from "./storage-projection.ts";

export class StorageWatch {
  private timer: NodeJS.Timeout | undefined;
  private readonly short = new Set<string>();
  last: StorageProjection | undefined;
  private lastAt = 0;

  constructor(
    private readonly index: RecordingIndex,
    private readonly dir: string,
    private readonly config: Config,
    private readonly publisher: EventPublisher,
    private readonly logger: Logger,
  ) {}

  start(): void {
    void this.refresh();
    this.timer = setInterval(() => void this.refresh(), 3_600_000);
    this.timer.unref();
  }

  /** The projection now (never rejects: a failure is logged, and the last one, or an empty one, answered). */
  async refresh(now = Date.now()): Promise<StorageProjection> {
    try {
      const recordings = [...(await this.index.settled()), ...(await this.index.unfinished())];
      const free = await statfs(this.dir)
        .then((s) => s.bavail * s.bsize)
        .catch(() => null);
      const projection = projectStorage(recordings, this.config, now, free);
      this.last = projection;
      this.lastAt = now;
      for (const camera of projection.cameras) {
        const was = this.short.has(camera.camera);
        if (camera.short === was) continue;
        if (camera.short) this.short.add(camera.camera);
        else this.short.delete(camera.camera);
        void this.publisher.gatewayEvent(
          camera.camera,
          "RetentionShort",
          {
            projectedDays: camera.projectedDays,
            minDays: camera.minDays,
            limit: camera.limit,
            summary: camera.summary,
          },
          camera.short ? "start" : "stop",
        );
      }
      return projection;
    } catch (error) {
      this.logger.warn({ err: errorText(error) }, "storage projection failed; trying again later");
      return this.last ?? { cameras: [], totalBytes: 0, globalBudgetBytes: null, diskFreeBytes: null };
    }
  }

  /** The projection, read again when the last one is older than `maxAgeMs` (a page asking often reads once). */
  async current(maxAgeMs = 60_000, now = Date.now()): Promise<StorageProjection> {
    return this.last && now - this.lastAt < maxAgeMs ? this.last : this.refresh(now);
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
