/**
 * node-postgres, loaded when a PostgreSQL store is opened: a camgate on SQLite (most of them) does not load
 * it (~16 MB of memory; issue 30). `loadedPg()` is for code that only runs once a store is open.
 */
import type { default as Pg } from "pg";

let loaded: typeof Pg | undefined;

export async function loadPg(): Promise<typeof Pg> {
  loaded ??= (await import("pg")).default;
  return loaded;
}

export function loadedPg(): typeof Pg {
  if (!loaded) throw new Error("PostgreSQL is used before a store was opened (loadPg)");
  return loaded;
}
