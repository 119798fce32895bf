/**
 * One newest-first page of a table keyed by ULID (events, incidents): the same filters for both (the
 * cameras a caller may see, one camera, one code, a time range by id, a cursor) and `limit + 1` rows read
 * so the next cursor is known without a count.
 */
import { encodeTime } from "ulid";
import type { Sql } from "../storage/sql.ts";
import { listPattern } from "./list-column.ts";

export interface PageQuery {
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
  /** Incidents only: of this kind (person, vehicle, confirmed-motion, ...: alert-kinds.ts). */
  kind?: string;
  /** Incidents only: that named this zone, rule or region. */
  zone?: string;
}

/** ULID lower bound for a time: every id made at or after `ms` sorts at or above it. */
export function idAtTime(ms: number): string {
  return encodeTime(Math.max(0, Math.floor(ms)), 10);
}

export async function newestFirst<Row extends { id: string }>(
  sql: Sql,
  table: "events" | "incidents",
  query: PageQuery,
): Promise<{ rows: Row[]; nextCursor: string | undefined }> {
  if (query.cameras !== "*" && query.cameras.length === 0) return { rows: [], nextCursor: undefined };
  const where: string[] = [];
  const params: (string | number)[] = [];
  const add = (clause: string, value: string | number | undefined) => {
    if (value === undefined) return;
    where.push(clause);
    params.push(value);
  };
  if (query.cameras !== "*") {
    where.push(`camera IN (${query.cameras.map(() => "?").join(",")})`);
    params.push(...query.cameras);
  }
  add("camera = ?", query.camera);
  add("code = ?", query.code);
  add("id >= ?", query.since === undefined ? undefined : idAtTime(query.since));
  add("id < ?", query.until === undefined ? undefined : idAtTime(query.until));
  add("id < ?", query.cursor);
  if (table === "incidents") {
    add("kinds LIKE ? ESCAPE '\\'", query.kind === undefined ? undefined : listPattern(query.kind));
    add("zones LIKE ? ESCAPE '\\'", query.zone === undefined ? undefined : listPattern(query.zone));
  }
  const limit = Math.min(Math.max(query.limit ?? 100, 1), 1000);
  const text = `SELECT * FROM ${table}${where.length ? ` WHERE ${where.join(" AND ")}` : ""} ORDER BY id DESC LIMIT ${limit + 1}`;
  const rows = await sql.all<Row>(text, params);
  const page = rows.slice(0, limit);
  return { rows: page, nextCursor: rows.length > limit ? page[page.length - 1]?.id : undefined };
}
