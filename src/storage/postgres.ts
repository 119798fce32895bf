/**
 * camgate's PostgreSQL, for several instances sharing one store (`storage.postgres.url`): a connection pool
 * and the schema, applied at start as SQLite's is (one version number, each step once, in order). Several
 * instances starting at once take turns: the migration runs under a transaction-level advisory lock, so
 * the second one finds the schema already there. Times are the database's (`now()`), never an instance's,
 * so instances whose clocks disagree still agree on every expiry.
 */
import pg from "pg";

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
  const pool = new pg.Pool({ connectionString: url, max: options.max ?? 8 });
  // An idle connection the server dropped (a database restart) must not crash the process: the pool
  // replaces it on next use.
  pool.on("error", () => undefined);
  try {
    const client = await pool.connect();
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
      client.release();
    }
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw error;
  }
}
