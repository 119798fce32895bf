/**
 * Browser sessions for the web UI: a random id in an `HttpOnly; SameSite=Strict` cookie (`Secure` under
 * TLS), kept in memory (a restart signs everyone out, which is safe). State-changing requests made with the
 * cookie must also carry `X-Camgate-Csrf: 1`, a header no other site can make a browser send.
 */
import { randomBytes } from "node:crypto";

export const SESSION_COOKIE = "camgate_session";
export const CSRF_HEADER = "x-camgate-csrf";
const TTL_MS = 7 * 24 * 3_600_000;
const MAX_SESSIONS = 10_000;

export class SessionStore {
  private readonly sessions = new Map<string, { user: string; expires: number }>();

  create(user: string): string {
    const id = randomBytes(32).toString("base64url");
    this.sessions.set(id, { user, expires: Date.now() + TTL_MS });
    if (this.sessions.size > MAX_SESSIONS) {
      const oldest = this.sessions.keys().next().value;
      if (oldest !== undefined) this.sessions.delete(oldest);
    }
    return id;
  }

  user(id: string): string | undefined {
    const session = this.sessions.get(id);
    if (!session) return undefined;
    if (session.expires < Date.now()) {
      this.sessions.delete(id);
      return undefined;
    }
    return session.user;
  }

  destroy(id: string): void {
    this.sessions.delete(id);
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
