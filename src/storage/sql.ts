/**
 * The one seam between camgate's shared records (events, incidents, the delivery outbox, web sessions, the
 * URL-signing key) and the database that holds them: SQLite for one instance (`sqlite-sql.ts`), PostgreSQL
 * for several (`postgres-sql.ts`). Repositories are written once against it, in the SQL both speak, with
 * `?` placeholders; the two test suites run the same repositories on both engines.
 */

export type SqlValue = string | number | null;

export interface Sql {
  readonly dialect: "sqlite" | "postgres";
  all<Row>(text: string, params?: readonly SqlValue[]): Promise<Row[]>;
  get<Row>(text: string, params?: readonly SqlValue[]): Promise<Row | undefined>;
  /** Runs a statement; resolves with how many rows it changed. */
  run(text: string, params?: readonly SqlValue[]): Promise<number>;
  /**
   * Runs `work` in one transaction on one connection: committed when it resolves, rolled back when it
   * throws. Only `tx` may be used inside; the outer handle waits (SQLite) or uses another connection.
   */
  transaction<T>(work: (tx: Sql) => Promise<T>): Promise<T>;
}

/** Both engines bound the parameters of one statement: a long id list goes in chunks of this many. */
const IN_CHUNK = 500;

/**
 * Runs `each` once per chunk of `values` with the `?, ?, ...` list for an `IN (...)` of that chunk, in
 * order; resolves with every chunk's result.
 */
export async function inChunks<V extends SqlValue, T>(
  values: readonly V[],
  each: (placeholders: string, chunk: V[]) => Promise<T>,
): Promise<T[]> {
  const results: T[] = [];
  for (let i = 0; i < values.length; i += IN_CHUNK) {
    const chunk = values.slice(i, i + IN_CHUNK);
    results.push(await each(chunk.map(() => "?").join(","), chunk));
  }
  return results;
}

/** `?` placeholders numbered for PostgreSQL (`$1`, `$2`, ...); camgate's statements hold no `?` in literals. */
export function numberPlaceholders(text: string): string {
  let n = 0;
  return text.replace(/\?/g, () => `$${++n}`);
}
