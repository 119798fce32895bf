/**
 * Events in SQLite, indexed by camera and time and by code and time (ids are ULIDs, so `id` order is time
 * order); snapshots as files under `<storage>/snapshots/`. Retention by age and count runs in the
 * background.
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Db } from "../storage/database.ts";
import type { CamgateEvent, EventAction, EventSource, NewEvent } from "./model.ts";
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
}

export interface EventQuery {
  /** Cameras the caller may see; "*" for all. */
  cameras: readonly string[] | "*";
  camera?: string;
  code?: string;
  /** Inclusive lower bound, ms since epoch. */
  since?: number;
  /** Exclusive upper bound, ms since epoch. */
  until?: number;
  limit?: number;
  /** Page after this id (newest first). */
  cursor?: string;
}

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
  };
}

/** ULID lower bound for a time: every id made at or after `ms` sorts at or above it. */
function idAtTime(ms: number): string {
  const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  let time = Math.max(0, Math.floor(ms));
  let head = "";
  for (let i = 0; i < 10; i++) {
    head = alphabet[time % 32] + head;
    time = Math.floor(time / 32);
  }
  return head;
}

export class EventStore {
  private readonly ids: UlidGenerator;
  private readonly insertRow;
  private readonly byId;

  constructor(
    readonly db: Db,
    private readonly snapshotDir: string,
    now: () => number = Date.now,
  ) {
    this.ids = new UlidGenerator(now);
    mkdirSync(snapshotDir, { recursive: true });
    this.insertRow = db.prepare(
      "INSERT INTO events (id, camera, source, code, action, channel, data, camera_time, received_at, snapshot) VALUES (@id, @camera, @source, @code, @action, @channel, @data, @camera_time, @received_at, @snapshot)",
    );
    this.byId = db.prepare("SELECT * FROM events WHERE id = ?");
  }

  /** Stores an event (its snapshot file first); call inside the caller's transaction to enqueue with it. */
  insert(event: NewEvent, receivedAt = Date.now()): CamgateEvent {
    const id = this.ids.next();
    if (event.snapshotJpeg) writeFileSync(this.snapshotPath(id), event.snapshotJpeg);
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
      snapshot: event.snapshotJpeg ? 1 : 0,
    };
    this.insertRow.run(row);
    return toEvent(row);
  }

  get(id: string): CamgateEvent | undefined {
    const row = this.byId.get(id) as Row | undefined;
    return row ? toEvent(row) : undefined;
  }

  snapshotPath(id: string): string {
    return join(this.snapshotDir, `${id.replace(/[^0-9A-Z]/g, "")}.jpg`);
  }

  /** Newest first, with a cursor for the next page. */
  list(query: EventQuery): { events: CamgateEvent[]; nextCursor: string | undefined } {
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (query.cameras !== "*") {
      if (query.cameras.length === 0) return { events: [], nextCursor: undefined };
      where.push(`camera IN (${query.cameras.map(() => "?").join(",")})`);
      params.push(...query.cameras);
    }
    if (query.camera !== undefined) {
      where.push("camera = ?");
      params.push(query.camera);
    }
    if (query.code !== undefined) {
      where.push("code = ?");
      params.push(query.code);
    }
    if (query.since !== undefined) {
      where.push("id >= ?");
      params.push(idAtTime(query.since));
    }
    if (query.until !== undefined) {
      where.push("id < ?");
      params.push(idAtTime(query.until));
    }
    if (query.cursor !== undefined) {
      where.push("id < ?");
      params.push(query.cursor);
    }
    const limit = Math.min(Math.max(query.limit ?? 100, 1), 1000);
    const sql = `SELECT * FROM events${where.length ? ` WHERE ${where.join(" AND ")}` : ""} ORDER BY id DESC LIMIT ${limit + 1}`;
    const rows = this.db.prepare(sql).all(...params) as Row[];
    const events = rows.slice(0, limit).map(toEvent);
    return { events, nextCursor: rows.length > limit ? events[events.length - 1]?.id : undefined };
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

  /** Deletes events older than `maxAgeMs` and beyond the newest `maxCount`, with their snapshots. */
  prune(maxAgeMs: number, maxCount: number, now = Date.now()): number {
    const old = this.db
      .prepare("SELECT id, snapshot FROM events WHERE id < ?")
      .all(idAtTime(now - maxAgeMs)) as { id: string; snapshot: number }[];
    const excess = this.db
      .prepare("SELECT id, snapshot FROM events ORDER BY id DESC LIMIT -1 OFFSET ?")
      .all(maxCount) as { id: string; snapshot: number }[];
    const doomed = new Map([...old, ...excess].map((row) => [row.id, row.snapshot]));
    if (doomed.size === 0) return 0;
    const remove = this.db.prepare("DELETE FROM events WHERE id = ?");
    this.db.transaction(() => {
      for (const id of doomed.keys()) remove.run(id);
    })();
    for (const [id, snapshot] of doomed) if (snapshot) rmSync(this.snapshotPath(id), { force: true });
    return doomed.size;
  }
}
