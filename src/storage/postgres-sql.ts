/**
 * The SQL seam on PostgreSQL (`pg` pool). 64-bit integers (the millisecond times, counts) come back as
 * numbers: camgate stores nothing there beyond 2^53. A transaction holds one pooled connection for its
 * length; other calls use other connections, as in any PostgreSQL application.
 */
import type pg from "pg";
import { loadedPg } from "./pg-module.ts";
import { numberPlaceholders, type Sql, type SqlValue } from "./sql.ts";

const INT8_OID = 20;
const NUMERIC_OID = 1700;

/** Type parsers for this seam only (the cluster's fencing tokens keep pg's exact strings). */
const types = {
  getTypeParser: ((oid: number, format?: "text" | "binary") =>
    oid === INT8_OID || oid === NUMERIC_OID
      ? (value: string) => Number(value)
      : loadedPg().types.getTypeParser(oid, format ?? "text")) as typeof pg.types.getTypeParser,
};

type Queryable = Pick<pg.Pool, "query"> | pg.PoolClient;

async function query<Row>(on: Queryable, text: string, params: readonly SqlValue[]) {
  return (on as pg.Pool).query<Row & pg.QueryResultRow>({
    text: numberPlaceholders(text),
    values: [...params],
    types,
  });
}

function over(on: Queryable, transaction: Sql["transaction"]): Sql {
  return {
    dialect: "postgres",
    all: async <Row>(text: string, params: readonly SqlValue[] = []) =>
      (await query<Row>(on, text, params)).rows as Row[],
    get: async <Row>(text: string, params: readonly SqlValue[] = []) =>
      (await query<Row>(on, text, params)).rows[0] as Row | undefined,
    run: async (text: string, params: readonly SqlValue[] = []) =>
      (await query(on, text, params)).rowCount ?? 0,
    transaction,
  };
}

export function postgresSql(pool: pg.Pool): Sql {
  const transaction = async <T>(work: (tx: Sql) => Promise<T>): Promise<T> => {
    const client = await pool.connect();
    // The pool watches only its idle clients: a connection the server ends while this one is out (a database
    // restart: 57P01) emits 'error' on it, which with no listener would end the process (issue 29's failover
    // test caught it). The failure reaches the statement that uses it; the client is destroyed on release.
    let broken: Error | undefined;
    const onError = (error: Error) => {
      broken = error;
    };
    client.on("error", onError);
    try {
      await client.query("BEGIN");
      const tx: Sql = over(client, (inner) => inner(tx));
      const result = await work(tx);
      await client.query("COMMIT");
      return result;
    } catch (error) {
      await client.query("ROLLBACK").catch((failed: Error) => {
        broken ??= failed;
      });
      throw error;
    } finally {
      client.off("error", onError);
      client.release(broken);
    }
  };
  return over(pool, transaction);
}
