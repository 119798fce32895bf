/**
 * The SQL seam on the SQLite file (better-sqlite3). Its calls are synchronous underneath; a transaction is
 * asynchronous to its caller, so while one is open every other call waits for it: nothing from another
 * chain of work can slip into (and be rolled back with) someone else's transaction. Statements are prepared
 * once and kept (a bounded cache: page filters and id lists make some texts vary).
 */
import type { Statement } from "better-sqlite3";
import type { Db } from "./database.ts";
import type { Sql, SqlValue } from "./sql.ts";

const MAX_STATEMENTS = 256;

export class SqliteSql implements Sql {
  readonly dialect = "sqlite";
  /** The transaction in progress; calls from outside it wait for it to end. */
  private open: Promise<unknown> | undefined;

  private readonly statements = new Map<string, Statement>();

  constructor(readonly db: Db) {}

  private prepare(text: string): Statement {
    let statement = this.statements.get(text);
    if (!statement) {
      statement = this.db.prepare(text);
      if (this.statements.size >= MAX_STATEMENTS) {
        const oldest = this.statements.keys().next().value;
        if (oldest !== undefined) this.statements.delete(oldest);
      }
      this.statements.set(text, statement);
    }
    return statement;
  }

  /** Runs `now` once no transaction is open, in the same turn as that check (so none can start between). */
  private async whenIdle<T>(now: () => T): Promise<T> {
    while (this.open) await this.open.catch(() => undefined);
    return now();
  }

  all<Row>(text: string, params: readonly SqlValue[] = []): Promise<Row[]> {
    return this.whenIdle(() => this.prepare(text).all(...params) as Row[]);
  }

  get<Row>(text: string, params: readonly SqlValue[] = []): Promise<Row | undefined> {
    return this.whenIdle(() => this.prepare(text).get(...params) as Row | undefined);
  }

  run(text: string, params: readonly SqlValue[] = []): Promise<number> {
    return this.whenIdle(() => this.prepare(text).run(...params).changes);
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
      all: async <Row>(text: string, params: readonly SqlValue[] = []) =>
        this.prepare(text).all(...params) as Row[],
      get: async <Row>(text: string, params: readonly SqlValue[] = []) =>
        this.prepare(text).get(...params) as Row | undefined,
      run: async (text: string, params: readonly SqlValue[] = []) =>
        this.prepare(text).run(...params).changes,
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
