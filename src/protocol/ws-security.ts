/**
 * WS-Security UsernameToken (OASIS WSS UsernameToken Profile 1.1), as ONVIF clients sign requests:
 * `PasswordDigest = base64(SHA-1(nonce bytes + Created + password))`, with the nonce sent base64-encoded
 * and `Created` an ISO 8601 UTC time. A digest proves the password without sending it; the nonce and the
 * time window are what stop a captured request from being replayed. `PasswordText` (the password itself)
 * is accepted only where the caller allows it (never over plain HTTP by default). No I/O.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { xml } from "./soap.ts";

export const PASSWORD_DIGEST =
  "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest";
export const PASSWORD_TEXT =
  "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText";

export interface UsernameToken {
  username: string;
  password: string;
  /** PASSWORD_DIGEST or PASSWORD_TEXT (an absent Type means text, per the profile). */
  type: string;
  /** Base64, as sent. */
  nonce: string | undefined;
  created: string | undefined;
}

export type TokenVerdict =
  | { ok: true }
  | { ok: false; reason: "wrong-password" | "stale-created" | "bad-token" | "text-not-allowed" };

/** The digest a client sends for these values. */
export function passwordDigest(nonce: Buffer, created: string, password: string): string {
  return createHash("sha1")
    .update(Buffer.concat([nonce, Buffer.from(created, "utf8"), Buffer.from(password, "utf8")]))
    .digest("base64");
}

/**
 * The `wsse:Security` header a client sends: `created` is the *device's* time (the client's clock corrected
 * by the offset learnt from GetSystemDateAndTime), so a camera whose clock is minutes off still accepts it.
 */
export function usernameTokenHeader(
  username: string,
  password: string,
  created: string,
  nonce: Buffer,
): string {
  return (
    '<wsse:Security s:mustUnderstand="1" xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd" xmlns:wsu="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd">' +
    `<wsse:UsernameToken><wsse:Username>${xml(username)}</wsse:Username>` +
    `<wsse:Password Type="${PASSWORD_DIGEST}">${passwordDigest(nonce, created, password)}</wsse:Password>` +
    `<wsse:Nonce EncodingType="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary">${nonce.toString("base64")}</wsse:Nonce>` +
    `<wsu:Created>${xml(created)}</wsu:Created></wsse:UsernameToken></wsse:Security>`
  );
}

/**
 * Checks a token against the secrets a user can answer with (password, token). `Created` must lie within
 * `windowMs` of `now` either way; the caller remembers nonces for that long and refuses one seen before.
 */
export function verifyUsernameToken(
  token: UsernameToken,
  secrets: readonly string[],
  now: number,
  options: { windowMs: number; allowText: boolean },
): TokenVerdict {
  const equal = (a: string, b: string) => {
    const x = Buffer.from(a);
    const y = Buffer.from(b);
    return x.length === y.length && timingSafeEqual(x, y);
  };
  if (token.type === PASSWORD_TEXT || token.type === "") {
    if (!options.allowText) return { ok: false, reason: "text-not-allowed" };
    return secrets.some((secret) => equal(secret, token.password))
      ? { ok: true }
      : { ok: false, reason: "wrong-password" };
  }
  if (token.type !== PASSWORD_DIGEST || token.nonce === undefined || token.created === undefined)
    return { ok: false, reason: "bad-token" };
  const created = Date.parse(token.created);
  // A Created without a zone would be read as local time: ONVIF wants UTC, so it must say so.
  if (!Number.isFinite(created) || !/(Z|[+-]\d\d:?\d\d)$/.test(token.created.trim()))
    return { ok: false, reason: "bad-token" };
  if (Math.abs(now - created) > options.windowMs) return { ok: false, reason: "stale-created" };
  const nonce = Buffer.from(token.nonce, "base64");
  if (nonce.length < 8 || nonce.length > 64) return { ok: false, reason: "bad-token" };
  // Only canonical base64: Node decodes leniently (junk skipped, padding optional, the URL-safe alphabet),
  // and a nonce that can be written several ways could be replayed in another spelling.
  if (nonce.toString("base64") !== token.nonce) return { ok: false, reason: "bad-token" };
  return secrets.some((secret) => equal(passwordDigest(nonce, token.created ?? "", secret), token.password))
    ? { ok: true }
    : { ok: false, reason: "wrong-password" };
}

/**
 * Nonces seen within the window, so a replayed request is refused. Bounded: at most `max` are kept; when
 * full, the oldest go first (a request that old is outside the window anyway, or the window is flooded,
 * and then a replay of an evicted nonce still needs its `Created` inside the window).
 */
export class NonceMemory {
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly windowMs: number,
    private readonly max = 10_000,
  ) {}

  /** True the first time a nonce is offered within the window; false for a replay. */
  remember(nonce: string, now: number): boolean {
    for (const [old, at] of this.seen) {
      if (at >= now - 2 * this.windowMs && this.seen.size < this.max) break;
      this.seen.delete(old);
    }
    if (this.seen.has(nonce)) return false;
    this.seen.set(nonce, now);
    return true;
  }
}
