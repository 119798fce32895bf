/**
 * camgate's PostgreSQL, for several instances sharing one store (`storage.postgres.url`): a connection pool
 * and the schema, applied at start as SQLite's is (one version number, each step once, in order). Several
 * instances starting at once take turns: the migration runs under a transaction-level advisory lock, so
 * the second one finds the schema already there. Times are the database's (`now()`), never an instance's,
 * so instances whose clocks disagree still agree on every expiry.
 */
import type pg from "pg";
import { loadPg } from "./pg-module.ts";

/** The schema's steps; the version is the number of steps applied. */
const MIGRATIONS: readonly string[] = [
  // 1: camera ownership (cluster/leases.ts). Tokens only grow: a fencing token names one tenure.
  `CREATE SEQUENCE camera_lease_tokens;
   CREATE TABLE camera_leases (
     camera text PRIMARY KEY,
     owner text NOT NULL,
     token bigint NOT NULL,
     acquired_at timestamptz NOT NULL DEFAULT now(),
     expires_at timestamptz NOT NULL
   );
   CREATE TABLE cluster_instances (
     id text PRIMARY KEY,
     started_at timestamptz NOT NULL DEFAULT now(),
     seen_at timestamptz NOT NULL DEFAULT now(),
     expires_at timestamptz NOT NULL
   );`,
  // 2: the shared records, as in SQLite's schema (storage/database.ts) with its later steps folded in:
  // events and their incidents, the delivery outbox with claims, web sessions, and named secrets (the
  // URL-signing key). Times are milliseconds since the epoch, as the repositories write them.
  `CREATE TABLE events (
     id text PRIMARY KEY,
     camera text NOT NULL,
     source text NOT NULL,
     code text NOT NULL,
     action text NOT NULL,
     channel integer NOT NULL,
     data text NOT NULL,
     camera_time text,
     received_at bigint NOT NULL,
     snapshot integer NOT NULL DEFAULT 0,
     snapshot_file text,
     incident_id text
   );
   CREATE INDEX events_camera ON events(camera, id);
   CREATE INDEX events_code ON events(code, id);
   CREATE INDEX events_incident ON events(incident_id);
   CREATE TABLE incidents (
     id text PRIMARY KEY,
     camera text NOT NULL,
     code text NOT NULL,
     channel integer NOT NULL,
     started_at bigint NOT NULL,
     ended_at bigint,
     last_at bigint NOT NULL,
     sources text NOT NULL,
     snapshot_event text,
     events integer NOT NULL
   );
   CREATE INDEX incidents_key ON incidents(camera, code, channel, id);
   CREATE INDEX incidents_code ON incidents(code, id);
   CREATE INDEX incidents_camera ON incidents(camera, id);
   CREATE TABLE deliveries (
     id text PRIMARY KEY,
     target text NOT NULL,
     event_id text NOT NULL,
     camera text NOT NULL DEFAULT '',
     state text NOT NULL,
     attempts integer NOT NULL DEFAULT 0,
     next_at bigint NOT NULL,
     created_at bigint NOT NULL,
     delivered_at bigint,
     last_error text,
     claimed_by text,
     claimed_until bigint
   );
   CREATE INDEX deliveries_queue ON deliveries(target, state, id);
   CREATE INDEX deliveries_head ON deliveries(target, camera, state, id);
   CREATE TABLE web_sessions (
     id text PRIMARY KEY,
     username text NOT NULL,
     expires_at bigint NOT NULL
   );
   CREATE TABLE camgate_secrets (
     name text PRIMARY KEY,
     value text NOT NULL
   );`,
  // 3: where each instance can be reached by the others (the hop to a camera's owner); the recordings
  // index (recording/recording-index.ts), each row naming the instance that records it.
  `ALTER TABLE cluster_instances ADD COLUMN http_url text;
   ALTER TABLE cluster_instances ADD COLUMN rtsp_url text;
   CREATE TABLE recordings (
     id text PRIMARY KEY,
     camera text NOT NULL,
     kind text NOT NULL,
     incident_id text,
     file text NOT NULL,
     started_at bigint NOT NULL,
     ended_at bigint,
     duration_ms bigint,
     bytes bigint NOT NULL DEFAULT 0,
     state text NOT NULL,
     error text,
     recorded_by text NOT NULL DEFAULT 'local'
   );
   CREATE INDEX recordings_camera ON recordings(camera, started_at);
   CREATE INDEX recordings_incident ON recordings(incident_id);
   CREATE TABLE camera_logs (
     id bigserial PRIMARY KEY,
     camera text NOT NULL,
     time text NOT NULL,
     type text NOT NULL,
     "user" text,
     level integer,
     detail text NOT NULL,
     hash text NOT NULL,
     synced_at bigint NOT NULL,
     UNIQUE (camera, hash)
   );
   CREATE INDEX camera_logs_time ON camera_logs(camera, time);
   CREATE TABLE backup_status (
     camera text PRIMARY KEY,
     last_attempt text,
     last_commit text,
     last_error text,
     instance text NOT NULL
   );`,
  // 4: the open incident and the recent one found from a handful of rows at any size (database.ts, 9).
  `DROP INDEX incidents_key;
   CREATE INDEX incidents_open ON incidents(camera, code, channel, id) WHERE ended_at IS NULL;
   CREATE INDEX incidents_recent ON incidents(camera, code, channel, last_at, id);`,
  // 5: each camera's last security audit (database.ts, 10).
  `CREATE TABLE audit_reports (
     camera text PRIMARY KEY,
     at text NOT NULL,
     report text NOT NULL
   );`,
  // 6: pinned incidents (database.ts, 11).
  `CREATE TABLE pinned_incidents (
     incident_id text PRIMARY KEY,
     pinned_by text NOT NULL,
     pinned_at bigint NOT NULL
   );`,
  // 7: whether camgate's motion detection saw a motion incident, its kinds and zones (database.ts, 12).
  `ALTER TABLE incidents ADD COLUMN confirmed smallint;
   ALTER TABLE incidents ADD COLUMN kinds text;
   ALTER TABLE incidents ADD COLUMN zones text;`,
];

export const POSTGRES_SCHEMA_VERSION = MIGRATIONS.length;

/** Any constant shared by every instance: the lock that serialises migrations. */
const MIGRATION_LOCK = 0x63616d67; // "camg"

export interface PostgresStore {
  pool: pg.Pool;
  schemaVersion: number;
  close(): Promise<void>;
}

export async function openPostgres(url: string, options: { max?: number } = {}): Promise<PostgresStore> {
  // Bounded waits: a connection the database never accepts (restarting, or a network gone) fails after
  // 5 s instead of holding a caller for ever; TCP keepalive finds a peer that vanished without a word.
  const { Pool } = await loadPg();
  const pool = new Pool({
    connectionString: url,
    max: options.max ?? 8,
    connectionTimeoutMillis: 5000,
    keepAlive: true,
  });
  // An idle connection the server dropped (a database restart) must not crash the process: the pool
  // replaces it on next use.
  pool.on("error", () => undefined);
  try {
    const client = await pool.connect();
    // Out of the pool, its errors are ours to take (see postgres-sql.ts): the migration's query fails instead.
    const ignore = () => undefined;
    client.on("error", ignore);
    try {
      await client.query("BEGIN");
      await client.query("SELECT pg_advisory_xact_lock($1)", [MIGRATION_LOCK]);
      await client.query("CREATE TABLE IF NOT EXISTS camgate_schema (version integer NOT NULL)");
      const found = await client.query<{ version: number }>("SELECT version FROM camgate_schema");
      let version = found.rows[0]?.version ?? 0;
      if (found.rows.length === 0) await client.query("INSERT INTO camgate_schema (version) VALUES (0)");
      if (version > MIGRATIONS.length)
        throw new Error(
          `the database's schema is version ${version}, newer than this camgate's ${MIGRATIONS.length}: upgrade camgate`,
        );
      for (; version < MIGRATIONS.length; version++) await client.query(MIGRATIONS[version] as string);
      await client.query("UPDATE camgate_schema SET version = $1", [version]);
      await client.query("COMMIT");
      return { pool, schemaVersion: version, close: () => pool.end() };
    } catch (error) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw error;
    } finally {
      client.off("error", ignore);
      client.release();
    }
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw error;
  }
}
