/**
 * Events in SQLite, indexed by camera and time and by code and time (ids are ULIDs, so `id` order is time
 * order); snapshots as files under `<storage>/snapshots/`, written asynchronously *before* the event's
 * transaction (never inside it: the same event loop feeds the live viewers). Retention by age and count.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Db } from "../storage/database.ts";
import { DEFAULT_MERGE_WINDOW_MS, Incidents } from "./incidents.ts";
import type { CamgateEvent, EventAction, EventSource, StorableEvent } from "./model.ts";
import { idAtTime, newestFirst, type PageQuery } from "./paging.ts";
import { UlidGenerator } from "./ulid.ts";

interface Row {
  id: string;
  camera: string;
  source: string;
  code: string;
  action: string;
  channel: number;
  data: string;
  camera_time: string | null;
  received_at: number;
  snapshot: number;
  snapshot_file: string | null;
  incident_id: string | null;
}

/** The filters of an event page (paging.ts). */
export type EventQuery = PageQuery;

function toEvent(row: Row): CamgateEvent {
  return {
    id: row.id,
    camera: row.camera,
    source: row.source as EventSource,
    code: row.code,
    action: row.action as EventAction,
    channel: row.channel,
    data: JSON.parse(row.data),
    cameraTime: row.camera_time,
    receivedAt: new Date(row.received_at).toISOString(),
    snapshot: row.snapshot === 1,
    incident: row.incident_id,
  };
}

export class EventStore {
  private readonly ids: UlidGenerator;
  readonly incidents: Incidents;
  private readonly insertRow;
  private readonly byId;

  constructor(
    readonly db: Db,
    private readonly snapshotDir: string,
    now: () => number = Date.now,
    mergeWindowMs = DEFAULT_MERGE_WINDOW_MS,
  ) {
    this.ids = new UlidGenerator(now);
    this.incidents = new Incidents(db, mergeWindowMs);
    mkdirSync(snapshotDir, { recursive: true });
    this.insertRow = db.prepare(
      "INSERT INTO events (id, camera, source, code, action, channel, data, camera_time, received_at, snapshot, snapshot_file, incident_id) VALUES (@id, @camera, @source, @code, @action, @channel, @data, @camera_time, @received_at, @snapshot, @snapshot_file, @incident_id)",
    );
    this.byId = db.prepare("SELECT * FROM events WHERE id = ?");
  }

  /** Writes a snapshot for an event about to be stored; the file name goes into `insert`. */
  async saveSnapshot(jpeg: Buffer): Promise<string> {
    const file = `${randomBytes(12).toString("hex")}.jpg`;
    await writeFile(join(this.snapshotDir, file), jpeg);
    return file;
  }

  /**
   * Stores an event and files it under its incident; call inside the caller's transaction to enqueue its
   * deliveries with it (and to keep event and incident together).
   */
  insert(event: StorableEvent, receivedAt = Date.now()): CamgateEvent {
    const id = this.ids.next();
    const row: Row = {
      id,
      camera: event.camera,
      source: event.source,
      code: event.code,
      action: event.action,
      channel: event.channel,
      data: JSON.stringify(event.data ?? null),
      camera_time: event.cameraTime,
      received_at: receivedAt,
      snapshot: event.snapshotFile ? 1 : 0,
      snapshot_file: event.snapshotFile ?? null,
      incident_id: null,
    };
    row.incident_id = this.incidents.assign({ ...event, id, at: receivedAt, snapshot: row.snapshot === 1 });
    this.insertRow.run(row);
    return toEvent(row);
  }

  get(id: string): CamgateEvent | undefined {
    const row = this.byId.get(id) as Row | undefined;
    return row ? toEvent(row) : undefined;
  }

  /** Where an event's snapshot is, when it has one. */
  snapshotPath(id: string): string | undefined {
    const row = this.byId.get(id) as Row | undefined;
    return row?.snapshot ? this.fileOf(row) : undefined;
  }

  private fileOf(row: Pick<Row, "id" | "snapshot_file">): string {
    // Events stored before schema version 3 named the file by the event id.
    return join(this.snapshotDir, row.snapshot_file ?? `${row.id.replace(/[^0-9A-Z]/g, "")}.jpg`);
  }

  /** Newest first, with a cursor for the next page. */
  list(query: PageQuery): { events: CamgateEvent[]; nextCursor: string | undefined } {
    const page = newestFirst<Row>(this.db, "events", query);
    return { events: page.rows.map(toEvent), nextCursor: page.nextCursor };
  }

  /** An incident's transitions, oldest first. */
  ofIncident(incident: string, limit = 1000): CamgateEvent[] {
    return (
      this.db
        .prepare("SELECT * FROM events WHERE incident_id = ? ORDER BY id ASC LIMIT ?")
        .all(incident, limit) as Row[]
    ).map(toEvent);
  }

  /** Events after an id, oldest first (SSE replay after Last-Event-ID). */
  after(id: string, limit = 10_000): CamgateEvent[] {
    return (
      this.db.prepare("SELECT * FROM events WHERE id > ? ORDER BY id ASC LIMIT ?").all(id, limit) as Row[]
    ).map(toEvent);
  }

  count(): number {
    return (this.db.prepare("SELECT COUNT(*) AS n FROM events").get() as { n: number }).n;
  }

  /**
   * Deletes events older than `maxAgeMs` and beyond the newest `maxCount`, then their snapshot files;
   * resolves with how many events went.
   */
  async prune(maxAgeMs: number, maxCount: number, now = Date.now()): Promise<number> {
    type Doomed = Pick<Row, "id" | "snapshot" | "snapshot_file">;
    const old = this.db
      .prepare("SELECT id, snapshot, snapshot_file FROM events WHERE id < ?")
      .all(idAtTime(now - maxAgeMs)) as Doomed[];
    const excess = this.db
      .prepare("SELECT id, snapshot, snapshot_file FROM events ORDER BY id DESC LIMIT -1 OFFSET ?")
      .all(maxCount) as Doomed[];
    const doomed = new Map([...old, ...excess].map((row) => [row.id, row]));
    if (doomed.size === 0) return 0;
    const remove = this.db.prepare("DELETE FROM events WHERE id = ?");
    this.db.transaction(() => {
      for (const id of doomed.keys()) remove.run(id);
      this.incidents.pruneOrphans();
    })();
    const files = [...doomed.values()].filter((row) => row.snapshot).map((row) => this.fileOf(row));
    await Promise.all(files.map((file) => rm(file, { force: true })));
    return doomed.size;
  }
}
