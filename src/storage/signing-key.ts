/**
 * The key signed URLs are made with (protocol/signed-url.ts): kept in the storage dir (`signing.key`, mode
 * 0600), or, for several instances, in their shared store.
 */
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Sql } from "./sql.ts";

export function loadOrCreateSigningKey(storageDir: string): Buffer {
  mkdirSync(storageDir, { recursive: true });
  const file = join(storageDir, "signing.key");
  if (existsSync(file)) {
    const key = Buffer.from(readFileSync(file, "utf8").trim(), "base64");
    if (key.length >= 32) return key;
  }
  const key = randomBytes(32);
  writeFileSync(file, `${key.toString("base64")}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return key;
}

/**
 * The key several instances share, from their store: the first instance to start puts in its own key (so a
 * single instance moved onto PostgreSQL keeps the URLs it signed), and every other reads that one (an
 * insert that loses the race changes nothing).
 */
export async function sharedSigningKey(sql: Sql, own: Buffer): Promise<Buffer> {
  await sql.run(
    "INSERT INTO camgate_secrets (name, value) VALUES ('url-signing', ?) ON CONFLICT (name) DO NOTHING",
    [own.toString("base64")],
  );
  const row = await sql.get<{ value: string }>(
    "SELECT value FROM camgate_secrets WHERE name = 'url-signing'",
  );
  if (!row) throw new Error("the shared URL-signing key could not be read");
  return Buffer.from(row.value, "base64");
}
