/**
 * Events in the shared store (SQLite, or PostgreSQL for several instances), indexed by camera and time and by code and time (ids are ULIDs, so `id` order is time
 * order); snapshots as files under `<storage>/snapshots/`, written asynchronously *before* the event's
 * transaction (never inside it: the same event loop feeds the live viewers). Retention by age and count.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { JsonValue } from "../protocol/kv.ts";
import { smartDetailsOf } from "../protocol/smart-objects.ts";
import { inChunks, type Sql } from "../storage/sql.ts";
import { alertKindsOf, zonesOf } from "./alert-kinds.ts";
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

/** What a smart event saw, read from its data (camera events only). */
function smartOf(source: string, code: string, data: JsonValue) {
  return source === "camera" ? smartDetailsOf(code, data) : undefined;
}

/** `known`: the data and smart details already read (the insert has them), else read from the row. */
function toEvent(row: Row, known?: { data: JsonValue; smart: ReturnType<typeof smartOf> }): CamgateEvent {
  const data: JsonValue = known ? known.data : JSON.parse(row.data);
  // Read at every read, not stored: events stored before this existed get them too.
  const smart = known ? known.smart : smartOf(row.source, row.code, data);
  return {
    id: row.id,
    camera: row.camera,
    source: row.source as EventSource,
    code: row.code,
    action: row.action as EventAction,
    channel: row.channel,
    data,
    cameraTime: row.camera_time,
    receivedAt: new Date(row.received_at).toISOString(),
    snapshot: row.snapshot === 1,
    incident: row.incident_id,
    ...smart,
  };
}

const INSERT =
  "INSERT INTO events (id, camera, source, code, action, channel, data, camera_time, received_at, snapshot, snapshot_file, incident_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

export class EventStore {
  private readonly ids: UlidGenerator;
  readonly incidents: Incidents;
  /** Whether camgate's motion detection watches a camera (its motion incidents start unconfirmed). */
  private motionJudged: (camera: string) => boolean = () => false;

  constructor(
    readonly sql: Sql,
    private readonly snapshotDir: string,
    now: () => number = Date.now,
    mergeWindowMs = DEFAULT_MERGE_WINDOW_MS,
  ) {
    this.ids = new UlidGenerator(now);
    this.incidents = new Incidents(sql, mergeWindowMs);
    mkdirSync(snapshotDir, { recursive: true });
  }

  judgeMotionWith(judged: (camera: string) => boolean): void {
    this.motionJudged = judged;
  }

  /** Writes a snapshot for an event about to be stored; the file name goes into `insert`. */
  async saveSnapshot(jpeg: Uint8Array): Promise<string> {
    const file = `${randomBytes(12).toString("hex")}.jpg`;
    await writeFile(join(this.snapshotDir, file), jpeg);
    return file;
  }

  /**
   * Stores an event and files it under its incident, inside the caller's transaction `tx` (which enqueues
   * the event's deliveries with it, and keeps event and incident together).
   */
  async insert(tx: Sql, event: StorableEvent, receivedAt = Date.now()): Promise<CamgateEvent> {
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
    // What the incident is to an owner and where, read as the event will be read back (toEvent).
    const data = event.data ?? null;
    const smart = smartOf(event.source, event.code, data);
    const facts = { ...event, data, ...smart };
    row.incident_id = await this.incidents.assign(tx, {
      ...event,
      id,
      at: receivedAt,
      snapshot: row.snapshot === 1,
      judged: this.motionJudged(event.camera),
      kinds: alertKindsOf(facts),
      zones: zonesOf(facts),
    });
    await tx.run(INSERT, [
      row.id,
      row.camera,
      row.source,
      row.code,
      row.action,
      row.channel,
      row.data,
      row.camera_time,
      row.received_at,
      row.snapshot,
      row.snapshot_file,
      row.incident_id,
    ]);
    return toEvent(row, { data, smart });
  }

  async get(id: string): Promise<CamgateEvent | undefined> {
    const row = await this.sql.get<Row>("SELECT * FROM events WHERE id = ?", [id]);
    return row ? toEvent(row) : undefined;
  }

  /** Where an event's snapshot is, when it has one. */
  async snapshotPath(id: string): Promise<string | undefined> {
    const row = await this.sql.get<Row>("SELECT * FROM events WHERE id = ?", [id]);
    return row?.snapshot ? this.fileOf(row) : undefined;
  }

  private fileOf(row: Pick<Row, "id" | "snapshot_file">): string {
    // Events stored before schema version 3 named the file by the event id.
    return join(this.snapshotDir, row.snapshot_file ?? `${row.id.replace(/[^0-9A-Z]/g, "")}.jpg`);
  }

  /** Newest first, with a cursor for the next page. */
  async list(query: PageQuery): Promise<{ events: CamgateEvent[]; nextCursor: string | undefined }> {
    const page = await newestFirst<Row>(this.sql, "events", query);
    return { events: page.rows.map((row) => toEvent(row)), nextCursor: page.nextCursor };
  }

  /** An incident's transitions, oldest first. */
  async ofIncident(incident: string, limit = 1000): Promise<CamgateEvent[]> {
    const rows = await this.sql.all<Row>(
      "SELECT * FROM events WHERE incident_id = ? ORDER BY id ASC LIMIT ?",
      [incident, limit],
    );
    return rows.map((row) => toEvent(row));
  }

  /** Events after an id, oldest first (SSE replay after Last-Event-ID). */
  async after(id: string, limit = 10_000): Promise<CamgateEvent[]> {
    const rows = await this.sql.all<Row>("SELECT * FROM events WHERE id > ? ORDER BY id ASC LIMIT ?", [
      id,
      limit,
    ]);
    return rows.map((row) => toEvent(row));
  }

  async count(): Promise<number> {
    return (await this.sql.get<{ n: number }>("SELECT COUNT(*) AS n FROM events"))?.n ?? 0;
  }

  /**
   * Deletes events older than `maxAgeMs` and beyond the newest `maxCount`, then their snapshot files;
   * resolves with how many events went.
   */
  async prune(maxAgeMs: number, maxCount: number, now = Date.now()): Promise<number> {
    type Doomed = Pick<Row, "id" | "snapshot" | "snapshot_file">;
    // A pinned incident's events stay, whatever their age or number, until it is unpinned.
    const unpinned =
      "(incident_id IS NULL OR NOT EXISTS (SELECT 1 FROM pinned_incidents p WHERE p.incident_id = events.incident_id))";
    const old = await this.sql.all<Doomed>(
      `SELECT id, snapshot, snapshot_file FROM events WHERE id < ? AND ${unpinned}`,
      [idAtTime(now - maxAgeMs)],
    );
    // Both engines read every row past an OFFSET when the LIMIT is left out (SQLite wants LIMIT -1).
    const excess = await this.sql.all<Doomed>(
      `SELECT id, snapshot, snapshot_file FROM events WHERE ${unpinned} ORDER BY id DESC ${this.sql.dialect === "sqlite" ? "LIMIT -1 " : ""}OFFSET ?`,
      [maxCount],
    );
    const doomed = new Map([...old, ...excess].map((row) => [row.id, row]));
    if (doomed.size === 0) return 0;
    const ids = [...doomed.keys()];
    await this.sql.transaction(async (tx) => {
      await inChunks(ids, (list, chunk) => tx.run(`DELETE FROM events WHERE id IN (${list})`, chunk));
      await this.incidents.pruneOrphans(tx);
    });
    const files = [...doomed.values()].filter((row) => row.snapshot).map((row) => this.fileOf(row));
    await Promise.all(files.map((file) => rm(file, { force: true })));
    return doomed.size;
  }
}
