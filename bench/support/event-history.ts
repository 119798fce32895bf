/**
 * History for the events bench: `count` ended incidents of the camera, each with its one event, written
 * straight into a stopped gateway's SQLite file (its schema already made), spread over the last 29 days
 * on the codes and channels the bench then sends, so each new event's lookups face all of it.
 */

import { UlidGenerator } from "../../src/events/ulid.ts";
import { openDatabase } from "../../src/storage/database.ts";

const KEYS = [
  ...[0, 1, 2, 3].map((channel) => ({ code: "VideoMotion", channel })),
  ...[0, 1].map((channel) => ({ code: "CrossLineDetection", channel })),
];

export async function seedIncidents(file: string, camera: string, count: number): Promise<void> {
  const db = openDatabase(file);
  try {
    const end = Date.now() - 3_600_000;
    const span = 29 * 24 * 3_600_000;
    let at = end - span;
    const ids = new UlidGenerator(() => at);
    const incident = db.prepare(
      "INSERT INTO incidents (id, camera, code, channel, started_at, ended_at, last_at, sources, snapshot_event, events) VALUES (?, ?, ?, ?, ?, ?, ?, '[\"camera\"]', NULL, 1)",
    );
    const event = db.prepare(
      "INSERT INTO events (id, camera, source, code, action, channel, data, camera_time, received_at, snapshot, incident_id) VALUES (?, ?, 'camera', ?, 'pulse', ?, '{}', NULL, ?, 0, ?)",
    );
    const batch = db.transaction((from: number, to: number) => {
      for (let i = from; i < to; i++) {
        at = end - span + Math.floor((i / count) * span);
        const key = KEYS[i % KEYS.length] as (typeof KEYS)[number];
        const id = ids.next();
        incident.run(id, camera, key.code, key.channel, at, at + 2000, at + 2000);
        event.run(ids.next(), camera, key.code, key.channel, at, id);
      }
    });
    // In batches, so the WAL does not grow to the whole history at once.
    for (let from = 0; from < count; from += 100_000) batch(from, Math.min(count, from + 100_000));
    db.pragma("wal_checkpoint(TRUNCATE)");
  } finally {
    db.close();
  }
}
