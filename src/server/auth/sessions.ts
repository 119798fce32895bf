/**
 * Browser sessions for the web UI: a random id in an `HttpOnly; SameSite=Strict` cookie (`Secure` under
 * TLS). State-changing requests made with the cookie must also carry `X-Camgate-Csrf: 1`, a header no other
 * site can make a browser send.
 *
 * One instance keeps them in memory (a restart signs everyone out, which is safe). Several instances
 * (`storage.postgres`) share them through the store, so a load balancer may send each request anywhere:
 * the store holds a SHA-256 of each id (reading the database yields no cookie), an instance that meets an
 * unknown cookie looks it up once (`load`), and what it knows it checks again every 30 s, so a sign-out on
 * one instance ends the session on all of them within that time.
 */
import { createHash, randomBytes } from "node:crypto";
import type { Sql } from "../../storage/sql.ts";

export const SESSION_COOKIE = "camgate_session";
export const CSRF_HEADER = "x-camgate-csrf";
const TTL_MS = 7 * 24 * 3_600_000;
const MAX_SESSIONS = 10_000;
const RECHECK_MS = 30_000;

interface Known {
  user: string;
  expires: number;
  /** When the shared store last confirmed it. */
  checkedAt: number;
}

const digest = (id: string) => createHash("sha256").update(id).digest("base64url");

export class SessionStore {
  private readonly sessions = new Map<string, Known>();
  private readonly rechecks = new Map<string, Promise<void>>();

  /** `shared`: the store several instances share; without it, sessions live in this process only. */
  constructor(private readonly shared?: Sql) {}

  async create(user: string): Promise<string> {
    const id = randomBytes(32).toString("base64url");
    const expires = Date.now() + TTL_MS;
    if (this.shared) {
      await this.shared.run("INSERT INTO web_sessions (id, username, expires_at) VALUES (?, ?, ?)", [
        digest(id),
        user,
        expires,
      ]);
      // The expired ones go as new ones come, so the table stays as small as the live sessions.
      await this.shared.run("DELETE FROM web_sessions WHERE expires_at < ?", [Date.now()]);
    }
    this.remember(id, { user, expires, checkedAt: Date.now() });
    return id;
  }

  private remember(id: string, known: Known): void {
    this.sessions.set(id, known);
    if (this.sessions.size > MAX_SESSIONS) {
      const oldest = this.sessions.keys().next().value;
      if (oldest !== undefined) this.sessions.delete(oldest);
    }
  }

  /** The user of a session this instance knows (call `load` first for a cookie it may not know yet). */
  user(id: string): string | undefined {
    const session = this.sessions.get(id);
    if (!session) return undefined;
    if (session.expires < Date.now()) {
      this.sessions.delete(id);
      return undefined;
    }
    return session.user;
  }

  /**
   * Makes a session another instance created known here, or checks a known one again when its last check
   * is old; a no-op without a shared store. A store that cannot be reached leaves what is known as it is.
   */
  load(id: string): Promise<void> {
    const shared = this.shared;
    if (!shared) return Promise.resolve();
    const known = this.sessions.get(id);
    if (known && Date.now() - known.checkedAt < RECHECK_MS) return Promise.resolve();
    let running = this.rechecks.get(id);
    if (!running) {
      running = shared
        .get<{ username: string; expires_at: number }>(
          "SELECT username, expires_at FROM web_sessions WHERE id = ? AND expires_at > ?",
          [digest(id), Date.now()],
        )
        .then(
          (row) => {
            if (row)
              this.remember(id, { user: row.username, expires: row.expires_at, checkedAt: Date.now() });
            else this.sessions.delete(id);
          },
          () => undefined,
        )
        .finally(() => this.rechecks.delete(id));
      // Bounded like the cache: a flood of made-up cookies cannot pile up look-ups.
      if (this.rechecks.size < MAX_SESSIONS) this.rechecks.set(id, running);
    }
    return running;
  }

  async destroy(id: string): Promise<void> {
    this.sessions.delete(id);
    await this.shared?.run("DELETE FROM web_sessions WHERE id = ?", [digest(id)]);
  }
}

export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export function sessionCookie(id: string, secure: boolean, maxAgeSeconds = TTL_MS / 1000): string {
  return `${SESSION_COOKIE}=${id}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${secure ? "; Secure" : ""}`;
}
