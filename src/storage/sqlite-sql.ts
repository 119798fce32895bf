/**
 * The SQL seam on the SQLite file (better-sqlite3). Its calls are synchronous underneath; a transaction is
 * asynchronous to its caller, so while one is open every other call waits for it: nothing from another
 * chain of work can slip into (and be rolled back with) someone else's transaction.
 */
import type { Db } from "./database.ts";
import type { Sql, SqlValue } from "./sql.ts";

export class SqliteSql implements Sql {
  readonly dialect = "sqlite";
  /** The transaction in progress; calls from outside it wait for it to end. */
  private open: Promise<unknown> | undefined;

  constructor(readonly db: Db) {}

  /** Runs `now` once no transaction is open, in the same turn as that check (so none can start between). */
  private async whenIdle<T>(now: () => T): Promise<T> {
    while (this.open) await this.open.catch(() => undefined);
    return now();
  }

  all<Row>(text: string, params: readonly SqlValue[] = []): Promise<Row[]> {
    return this.whenIdle(() => allNow<Row>(this.db, text, params));
  }

  get<Row>(text: string, params: readonly SqlValue[] = []): Promise<Row | undefined> {
    return this.whenIdle(() => this.db.prepare(text).get(...params) as Row | undefined);
  }

  run(text: string, params: readonly SqlValue[] = []): Promise<number> {
    return this.whenIdle(() => this.db.prepare(text).run(...params).changes);
  }

  async transaction<T>(work: (tx: Sql) => Promise<T>): Promise<T> {
    // Wrapped, so the promise is not flattened into the idle wait.
    const { running } = await this.whenIdle(() => ({ running: this.begin(work) }));
    try {
      return await running;
    } finally {
      if (this.open === running) this.open = undefined;
    }
  }

  /** BEGIN, and the transaction marked open, in one synchronous step. */
  private begin<T>(work: (tx: Sql) => Promise<T>): Promise<T> {
    const db = this.db;
    const tx: Sql = {
      dialect: "sqlite",
      all: async <Row>(text: string, params: readonly SqlValue[] = []) => allNow<Row>(db, text, params),
      get: async <Row>(text: string, params: readonly SqlValue[] = []) =>
        db.prepare(text).get(...params) as Row | undefined,
      run: async (text: string, params: readonly SqlValue[] = []) => db.prepare(text).run(...params).changes,
      transaction: (inner) => inner(tx),
    };
    db.exec("BEGIN IMMEDIATE");
    const running = (async () => {
      try {
        const result = await work(tx);
        db.exec("COMMIT");
        return result;
      } catch (error) {
        if (db.inTransaction) db.exec("ROLLBACK");
        throw error;
      }
    })();
    this.open = running;
    return running;
  }
}

function allNow<Row>(db: Db, text: string, params: readonly SqlValue[]): Row[] {
  return db.prepare(text).all(...params) as Row[];
}
