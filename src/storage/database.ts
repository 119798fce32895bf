/**
 * The SQLite file (better-sqlite3): WAL, foreign keys, and migrations by `PRAGMA user_version`. Each
 * migration runs once, in a transaction; a database newer than this code is refused rather than damaged.
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";

export type Db = Database.Database;

const MIGRATIONS: string[] = [
  // 1: events and the delivery outbox.
  `CREATE TABLE events (
     id TEXT PRIMARY KEY,
     camera TEXT NOT NULL,
     source TEXT NOT NULL,
     code TEXT NOT NULL,
     action TEXT NOT NULL,
     channel INTEGER NOT NULL,
     data TEXT NOT NULL,
     camera_time TEXT,
     received_at INTEGER NOT NULL,
     snapshot INTEGER NOT NULL DEFAULT 0
   ) WITHOUT ROWID;
   CREATE INDEX events_camera ON events(camera, id);
   CREATE INDEX events_code ON events(code, id);
   CREATE TABLE deliveries (
     id TEXT PRIMARY KEY,
     target TEXT NOT NULL,
     event_id TEXT NOT NULL,
     state TEXT NOT NULL,
     attempts INTEGER NOT NULL DEFAULT 0,
     next_at INTEGER NOT NULL,
     created_at INTEGER NOT NULL,
     delivered_at INTEGER,
     last_error TEXT
   ) WITHOUT ROWID;
   CREATE INDEX deliveries_queue ON deliveries(target, state, id);`,
  // 2: camera logs, synced incrementally; the hash makes overlapping sync windows idempotent.
  `CREATE TABLE camera_logs (
     id INTEGER PRIMARY KEY,
     camera TEXT NOT NULL,
     time TEXT NOT NULL,
     type TEXT NOT NULL,
     user TEXT,
     level INTEGER,
     detail TEXT NOT NULL,
     hash TEXT NOT NULL,
     synced_at INTEGER NOT NULL,
     UNIQUE (camera, hash)
   );
   CREATE INDEX camera_logs_time ON camera_logs(camera, time);`,
  // 3: an event's snapshot file is named when it is written (before the event's transaction), not by its id.
  "ALTER TABLE events ADD COLUMN snapshot_file TEXT;",
  // 4: each camera's last credential refusal, so a restart does not try a refused password again at once.
  `CREATE TABLE camera_auth_failures (
     camera TEXT PRIMARY KEY,
     salt TEXT NOT NULL,
     fingerprint TEXT NOT NULL,
     retry_at INTEGER NOT NULL,
     backoff_ms INTEGER NOT NULL,
     reason TEXT NOT NULL
   ) WITHOUT ROWID;`,
  // 5: the Home Assistant discovery topics camgate published, so the ones it no longer publishes are cleared.
  "CREATE TABLE mqtt_discovery_topics (topic TEXT PRIMARY KEY) WITHOUT ROWID;",
  // 6: incidents (start, end, sources) over the raw transitions; each event names its incident.
  `CREATE TABLE incidents (
     id TEXT PRIMARY KEY,
     camera TEXT NOT NULL,
     code TEXT NOT NULL,
     channel INTEGER NOT NULL,
     started_at INTEGER NOT NULL,
     ended_at INTEGER,
     last_at INTEGER NOT NULL,
     sources TEXT NOT NULL,
     snapshot_event TEXT,
     events INTEGER NOT NULL
   ) WITHOUT ROWID;
   CREATE INDEX incidents_key ON incidents(camera, code, channel, id);
   CREATE INDEX incidents_code ON incidents(code, id);
   CREATE INDEX incidents_camera ON incidents(camera, id);
   ALTER TABLE events ADD COLUMN incident_id TEXT;
   CREATE INDEX events_incident ON events(incident_id);`,
  // 7: recordings: event clips now (continuous segments later), each a file under <storage>/recordings.
  `CREATE TABLE recordings (
     id TEXT PRIMARY KEY,
     camera TEXT NOT NULL,
     kind TEXT NOT NULL,
     incident_id TEXT,
     file TEXT NOT NULL,
     started_at INTEGER NOT NULL,
     ended_at INTEGER,
     duration_ms INTEGER,
     bytes INTEGER NOT NULL DEFAULT 0,
     state TEXT NOT NULL,
     error TEXT
   ) WITHOUT ROWID;
   CREATE INDEX recordings_camera ON recordings(camera, started_at);
   CREATE INDEX recordings_incident ON recordings(incident_id);`,
  // 8: deliveries are claimed before they are sent, and ordered per (target, camera) (events/outbox.ts);
  // web sessions outlive a restart (server/auth/sessions.ts). Older rows form one queue per target.
  `ALTER TABLE deliveries ADD COLUMN camera TEXT NOT NULL DEFAULT '';
   ALTER TABLE deliveries ADD COLUMN claimed_by TEXT;
   ALTER TABLE deliveries ADD COLUMN claimed_until INTEGER;
   CREATE INDEX deliveries_head ON deliveries(target, camera, state, id);
   CREATE TABLE web_sessions (
     id TEXT PRIMARY KEY,
     username TEXT NOT NULL,
     expires_at INTEGER NOT NULL
   ) WITHOUT ROWID;
   ALTER TABLE recordings ADD COLUMN recorded_by TEXT NOT NULL DEFAULT 'local';
   CREATE TABLE backup_status (
     camera TEXT PRIMARY KEY,
     last_attempt TEXT,
     last_commit TEXT,
     last_error TEXT,
     instance TEXT NOT NULL
   ) WITHOUT ROWID;`,
  // 9: each event asks for its camera's open incident of that code and channel, and for the one last active
  // within the merge window. On (camera, code, channel, id) both walked every ended incident of the
  // key (2.2 ms at 10k incidents, 15.6 ms at 60k, per event: issue 30); an index of the open ones alone and
  // one by last activity answer from a handful of rows at any size.
  `DROP INDEX incidents_key;
   CREATE INDEX incidents_open ON incidents(camera, code, channel, id) WHERE ended_at IS NULL;
   CREATE INDEX incidents_recent ON incidents(camera, code, channel, last_at, id);`,
  // 10: each camera's last security audit (issue 31), so a finding is announced once, not at every start.
  `CREATE TABLE audit_reports (
     camera TEXT PRIMARY KEY,
     at TEXT NOT NULL,
     report TEXT NOT NULL
   ) WITHOUT ROWID;`,
  // 11: incidents a user pinned: kept, with their events, snapshots, clip and footage, until unpinned.
  `CREATE TABLE pinned_incidents (
     incident_id TEXT PRIMARY KEY,
     pinned_by TEXT NOT NULL,
     pinned_at INTEGER NOT NULL
   ) WITHOUT ROWID;`,
  // 12: whether camgate's own motion detection saw a motion incident (issue 32): 1 it did, 0 it looked and
  // did not (yet), NULL it was not looking (off for that camera, or not a motion incident); what the
  // incident was to an owner (person, vehicle, ...) and the zones it was in, as ",a,b," for the filters.
  `ALTER TABLE incidents ADD COLUMN confirmed INTEGER;
   ALTER TABLE incidents ADD COLUMN kinds TEXT;
   ALTER TABLE incidents ADD COLUMN zones TEXT;`,
];

export function openDatabase(file: string): Db {
  if (file !== ":memory:") mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  // WAL with synchronous=NORMAL is durable against process crashes (the case that matters here: SIGKILL,
  // restarts); only an OS crash can lose the last transactions.
  db.pragma("synchronous = NORMAL");
  db.pragma("foreign_keys = ON");
  db.pragma("busy_timeout = 5000");
  migrate(db);
  return db;
}

function migrate(db: Db): void {
  const version = Number(db.pragma("user_version", { simple: true }));
  if (version > MIGRATIONS.length) {
    throw new Error(
      `the database is at schema version ${version}, newer than this camgate (${MIGRATIONS.length}); upgrade camgate`,
    );
  }
  for (let next = version; next < MIGRATIONS.length; next++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[next] as string);
      db.pragma(`user_version = ${next + 1}`);
    })();
  }
}
