/**
 * A database restart while a transaction holds a connection out of the pool: the transaction fails, the
 * process goes on (an 'error' event on a client nobody listened to used to end it: the failover test's
 * instances died this way), and the next transaction works on a new connection.
 */
import { afterAll, beforeAll, describe, expect } from "vitest";
import { openPostgres, type PostgresStore } from "../../src/storage/postgres.ts";
import { postgresSql } from "../../src/storage/postgres-sql.ts";
import { waitFor } from "../helpers/http.ts";
import { locatePostgres, startTestPostgres, type TestPostgres } from "../helpers/postgres.ts";
import { itWithTool } from "../helpers/system-tools.ts";

describe("PostgreSQL restarted under a transaction", () => {
  let server: TestPostgres | undefined;
  let store: PostgresStore | undefined;

  beforeAll(async () => {
    if (!locatePostgres()) return;
    server = await startTestPostgres();
    store = await openPostgres(server.url);
  }, 60_000);

  afterAll(async () => {
    await store?.close().catch(() => undefined);
    await server?.stop();
  });

  itWithTool(
    "postgresql",
    locatePostgres,
    "fails that transaction, keeps the process, and works after",
    async () => {
      if (!server || !store) throw new Error("setup failed");
      const sql = postgresSql(store.pool);
      let release: () => void = () => undefined;
      const held = new Promise<void>((resolve) => {
        release = resolve;
      });
      // A transaction that has begun and waits (as one waiting for a snapshot file would) while the server goes.
      const during = sql.transaction(async (tx) => {
        await tx.run("SELECT 1");
        await held;
        await tx.run("SELECT 2");
      });
      const outcome = during.then(
        () => "committed",
        () => "failed",
      );
      await server.restart();
      release();
      expect(await outcome).toBe("failed");
      // The pool makes new connections: the next transaction goes through once the server answers.
      const works = await waitFor(
        () =>
          sql
            .transaction(async (tx) => (await tx.get<{ n: number }>("SELECT 1 AS n"))?.n === 1)
            .then((ok) => (ok ? true : undefined))
            // Connections made while the server was still coming back fail: asked again.
            .catch(() => undefined),
        20_000,
        "a transaction after the restart",
      );
      expect(works).toBe(true);
    },
    60_000,
  );
});
