/**
 * Each camera's last credential refusal in SQLite (`camera_auth_failures`), so that a gateway restarted in a
 * loop cannot try a refused password against the camera again and again (cameras lock an address out after
 * 5 to 30 failures). A refusal is remembered for the credentials it happened with: the row holds a salted
 * scrypt fingerprint of them, never the password, and a changed password is tried at once.
 */
import { randomBytes, scryptSync, timingSafeEqual } from "node:crypto";
import type { AuthFailureMemory, RememberedAuthFailure } from "../camera/session.ts";
import type { Db } from "./database.ts";

interface Row {
  salt: string;
  fingerprint: string;
  retry_at: number;
  backoff_ms: number;
  reason: string;
}

/** Cheap enough to run once per camera at start-up, costly enough that the row is no password oracle. */
const SCRYPT = { N: 1 << 14, r: 8, p: 1 } as const;

function fingerprint(salt: Buffer, origin: string, username: string, password: string): Buffer {
  return scryptSync(`${origin}\n${username}\n${password}`, salt, 32, SCRYPT);
}

export function authFailureMemory(db: Db, camera: string, origin: string): AuthFailureMemory {
  const select = db.prepare("SELECT * FROM camera_auth_failures WHERE camera = ?");
  const upsert = db.prepare(
    "INSERT INTO camera_auth_failures (camera, salt, fingerprint, retry_at, backoff_ms, reason) VALUES (?, ?, ?, ?, ?, ?) " +
      "ON CONFLICT (camera) DO UPDATE SET salt = excluded.salt, fingerprint = excluded.fingerprint, retry_at = excluded.retry_at, backoff_ms = excluded.backoff_ms, reason = excluded.reason",
  );
  const remove = db.prepare("DELETE FROM camera_auth_failures WHERE camera = ?");
  return {
    recall(username, password): RememberedAuthFailure | undefined {
      const row = select.get(camera) as Row | undefined;
      if (!row) return undefined;
      const expected = Buffer.from(row.fingerprint, "hex");
      const actual = fingerprint(Buffer.from(row.salt, "hex"), origin, username, password);
      if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) return undefined;
      return { retryAt: row.retry_at, backoffMs: row.backoff_ms, reason: row.reason };
    },
    remember(username, password, failure): void {
      if (!failure) {
        remove.run(camera);
        return;
      }
      const salt = randomBytes(16);
      upsert.run(
        camera,
        salt.toString("hex"),
        fingerprint(salt, origin, username, password).toString("hex"),
        failure.retryAt,
        failure.backoffMs,
        failure.reason,
      );
    },
  };
}
