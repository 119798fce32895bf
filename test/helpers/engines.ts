/**
 * The two engines of the shared store, for tests that must hold on both: a fresh SQLite file, or a fresh
 * database on one throwaway PostgreSQL per test file (Debian's server, `postgres.ts`). `storageEngines()`
 * registers the server's start and stop with the file's hooks; each `open()` is a new, migrated, empty store.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll } from "vitest";
import { openDatabase } from "../../src/storage/database.ts";
import { openPostgres, type PostgresStore } from "../../src/storage/postgres.ts";
import { postgresSql } from "../../src/storage/postgres-sql.ts";
import type { Sql } from "../../src/storage/sql.ts";
import { SqliteSql } from "../../src/storage/sqlite-sql.ts";
import { locatePostgres, startTestPostgres, type TestPostgres } from "./postgres.ts";

export interface OpenStore {
  sql: Sql;
  /** A directory for the store's files (snapshots). */
  dir: string;
  /** The same store through a new connection (a restart): what was committed is there. */
  reopen(): Promise<Sql>;
  /** The PostgreSQL server, for the engine that has one. */
  server: TestPostgres | undefined;
}

export interface Engine {
  name: "sqlite" | "postgres";
  /** False where the engine cannot run here (no PostgreSQL on a developer machine; never under CI). */
  available: boolean;
  open(): Promise<OpenStore>;
}

export function storageEngines(): Engine[] {
  // CI installs PostgreSQL (.ci/run): there a missing server is a failure, not a skip.
  const postgresAvailable = locatePostgres() !== undefined || process.env.CI === "true";
  let server: TestPostgres | undefined;
  let databases = 0;
  const cleanups: (() => Promise<void> | void)[] = [];
  beforeAll(async () => {
    if (postgresAvailable) server = await startTestPostgres();
  }, 60_000);
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  afterAll(async () => {
    await server?.stop();
  });
  const tempDir = () => {
    const dir = mkdtempSync(join(tmpdir(), "camgate-store-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    return dir;
  };
  return [
    {
      name: "sqlite",
      available: true,
      async open() {
        const dir = tempDir();
        const file = join(dir, "camgate.db");
        const open = () => {
          const db = openDatabase(file);
          cleanups.push(() => {
            db.close();
          });
          return new SqliteSql(db);
        };
        return { sql: open(), dir, reopen: async () => open(), server: undefined };
      },
    },
    {
      name: "postgres",
      available: postgresAvailable,
      async open() {
        if (!server) throw new Error("the test PostgreSQL did not start");
        const name = `store_${process.pid}_${++databases}`;
        const admin = await openPostgres(server.url);
        await admin.pool.query(`CREATE DATABASE ${name}`);
        await admin.close();
        const url = server.url.replace("/camgate?", `/${name}?`);
        const open = async () => {
          const store: PostgresStore = await openPostgres(url);
          cleanups.push(() => store.close().catch(() => undefined));
          return postgresSql(store.pool);
        };
        return { sql: await open(), dir: tempDir(), reopen: open, server };
      },
    },
  ];
}
