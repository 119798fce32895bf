/**
 * Incremental sync of the cameras' logs into SQLite (log.cgi startFind/doFind/stopFind, stopFind always
 * sent). Each run reads from a little before the newest stored entry (the watermark) so nothing at the edge
 * is missed; a hash per entry makes overlapping windows store each entry once.
 */
import { createHash } from "node:crypto";
import { searchLogs } from "../camera/log-search.ts";
import type { CameraSet } from "../camera/registry.ts";
import type { Sql } from "../storage/sql.ts";

export interface StoredLogEntry {
  camera: string;
  time: string;
  type: string;
  user: string | null;
  level: number | null;
  detail: unknown;
}

/** What the last sync of a camera's log did (shown in the camera's status). */
export interface LogSyncStatus {
  lastAttempt: string | undefined;
  lastSuccess: string | undefined;
  lastError: string | undefined;
  /** Why the last run stopped before the camera's end (its page or time bound, a camera that repeats pages). */
  lastCut: string | undefined;
}

/** One run reads at most this many pages of 100 per camera; the next run continues from what was stored. */
const PAGES_PER_RUN = 50;

const OVERLAP_MS = 10 * 60_000;
const FAR_PAST = "2000-01-01 00:00:00";
const FAR_FUTURE = "2037-12-31 23:59:59";

function wallClockMinus(time: string, ms: number): string {
  const parsed = Date.parse(`${time.replace(" ", "T")}Z`);
  if (!Number.isFinite(parsed)) return FAR_PAST;
  return new Date(parsed - ms).toISOString().slice(0, 19).replace("T", " ");
}

const INSERT =
  'INSERT INTO camera_logs (camera, time, type, "user", level, detail, hash, synced_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (camera, hash) DO NOTHING';

export class LogSync {
  private timer: NodeJS.Timeout | undefined;
  private readonly statuses = new Map<string, LogSyncStatus>();
  /** The run in progress per camera: concurrent requests share it (single flight). */
  private readonly running = new Map<string, Promise<{ seen: number; inserted: number }>>();

  constructor(
    /** The shared store: a camera's log is there for every instance, whichever synced it. */
    private readonly sql: Sql,
    private readonly cameras: CameraSet,
    private readonly onNew: (entries: StoredLogEntry[]) => void = () => undefined,
    private readonly warn: (message: string, fields: Record<string, unknown>) => void = () => undefined,
  ) {}

  start(intervalMs: number): void {
    if (intervalMs <= 0) return;
    this.timer = setInterval(() => void this.syncAll(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  status(camera: string): LogSyncStatus {
    return (
      this.statuses.get(camera) ?? {
        lastAttempt: undefined,
        lastSuccess: undefined,
        lastError: undefined,
        lastCut: undefined,
      }
    );
  }

  /** Syncs every camera in turn; never rejects (a failure is logged and kept in the camera's status). */
  async syncAll(): Promise<void> {
    for (const entry of this.cameras.list()) {
      // The camera's log is Dahua's log.cgi; ONVIF cameras are not read.
      if (entry.protocol !== "dahua") continue;
      await this.sync(entry.id).then(
        () => undefined,
        // sync() has logged it and recorded it in the status; the other cameras still sync.
        () => undefined,
      );
    }
  }

  /**
   * Reads the camera's log from the watermark (or `from`) to `to`; returns how many entries were new. A run
   * already going for the camera is shared, whatever its window (the store answers the queries).
   */
  sync(
    camera: string,
    window: { from?: string; to?: string } = {},
  ): Promise<{ seen: number; inserted: number }> {
    const running = this.running.get(camera);
    if (running) return running;
    const run = this.run(camera, window).finally(() => this.running.delete(camera));
    this.running.set(camera, run);
    return run;
  }

  private async run(
    camera: string,
    window: { from?: string; to?: string },
  ): Promise<{ seen: number; inserted: number }> {
    const status = this.status(camera);
    this.statuses.set(camera, status);
    status.lastAttempt = new Date().toISOString();
    status.lastCut = undefined;
    try {
      const result = await this.read(camera, window, (reason) => {
        status.lastCut = reason;
        this.warn("camera log sync cut short", { camera, reason });
      });
      status.lastSuccess = new Date().toISOString();
      status.lastError = undefined;
      return result;
    } catch (error) {
      status.lastError = error instanceof Error ? error.message : String(error);
      this.warn("camera log sync failed", { camera, err: status.lastError });
      throw error;
    }
  }

  private async read(
    camera: string,
    window: { from?: string; to?: string },
    onCut: (reason: string) => void,
  ): Promise<{ seen: number; inserted: number }> {
    const entry = this.cameras.get(camera);
    if (!entry) throw new RangeError(`no camera ${camera} in the registry`);
    const watermark = (
      await this.sql.get<{ t: string | null }>("SELECT MAX(time) AS t FROM camera_logs WHERE camera = ?", [
        camera,
      ])
    )?.t;
    const from = window.from ?? (watermark ? wallClockMinus(watermark, OVERLAP_MS) : FAR_PAST);
    const to = window.to ?? FAR_FUTURE;
    let seen = 0;
    const fresh: StoredLogEntry[] = [];
    const now = Date.now();
    const search = searchLogs(entry.api, from, to, {
      pageSize: 100,
      priority: "background",
      maxPages: PAGES_PER_RUN,
      onCut,
    });
    for await (const item of search) {
      seen++;
      const detail = JSON.stringify(item.detail ?? null);
      const row = {
        camera,
        time: item.time,
        type: item.type,
        user: item.user ?? null,
        level: item.level ?? null,
        detail,
      };
      const hash = createHash("sha1").update(JSON.stringify(row)).digest("hex");
      const inserted = await this.sql.run(INSERT, [
        row.camera,
        row.time,
        row.type,
        row.user,
        row.level,
        row.detail,
        hash,
        now,
      ]);
      if (inserted > 0) fresh.push({ ...row, detail: item.detail ?? null });
    }
    if (fresh.length > 0) this.onNew(fresh);
    return { seen, inserted: fresh.length };
  }

  async query(
    camera: string,
    filter: { from?: string; to?: string; type?: string; limit?: number },
  ): Promise<StoredLogEntry[]> {
    const rows = await this.sql.all<Omit<StoredLogEntry, "detail"> & { detail: string }>(
      `SELECT camera, time, type, "user", level, detail FROM camera_logs WHERE camera = ? AND time >= ? AND time <= ?${filter.type ? " AND type = ?" : ""} ORDER BY time, id LIMIT ?`,
      [
        camera,
        filter.from ?? FAR_PAST,
        filter.to ?? FAR_FUTURE,
        ...(filter.type ? [filter.type] : []),
        filter.limit ?? 10_000,
      ],
    );
    return rows.map((row) => ({ ...row, detail: JSON.parse(row.detail) }));
  }
}
