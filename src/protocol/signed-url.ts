/**
 * Signed URLs, the token format: HMAC-SHA256 over method, path (with its query, minus our parameters),
 * camera, expiry and user. They let an `<img>` tag or a dashboard embed one stream or snapshot URL without
 * credentials, for a limited time, and carry the hop between cluster instances. Pure (no I/O): the key is
 * kept by storage/signing-key.ts (the storage dir, or the shared store of several instances, so a URL one
 * instance signs opens on every other).
 */
import { createHmac, timingSafeEqual } from "node:crypto";

export const SIGNED_PARAMS = ["cg_exp", "cg_user", "cg_sig"] as const;

/**
 * The signer of the links camgate puts in webhooks and notifications (an event's snapshot, an incident's
 * clip). Not a user (user names cannot hold `:`): it may read exactly the path it signed, with GET, until
 * the link expires, whoever is configured.
 */
export const LINKS_SIGNER = "camgate:links";

/** The camera a path belongs to (`/api/v1/cameras/<id>/...` or `/cam/<id>/...`), or "". */
export function cameraOfPath(pathname: string): string {
  return /^\/(?:api\/v1\/cameras|cam)\/([^/?]+)/.exec(pathname)?.[1] ?? "";
}

/** Splits our parameters off a request target, keeping the rest byte for byte. */
export function splitSigned(target: string): { base: string; params: Map<string, string> } {
  const queryAt = target.indexOf("?");
  if (queryAt < 0) return { base: target, params: new Map() };
  const kept: string[] = [];
  const params = new Map<string, string>();
  for (const pair of target.slice(queryAt + 1).split("&")) {
    const name = pair.split("=", 1)[0] as string;
    if ((SIGNED_PARAMS as readonly string[]).includes(name))
      params.set(name, decodeOrRaw(pair.slice(name.length + 1)));
    else if (pair !== "") kept.push(pair);
  }
  const path = target.slice(0, queryAt);
  return { base: kept.length > 0 ? `${path}?${kept.join("&")}` : path, params };
}

/** A malformed escape (`cg_user=%E0%A4%A`) is kept as written: it cannot match a signature, so it is refused. */
function decodeOrRaw(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch (error) {
    if (error instanceof URIError) return text;
    throw error;
  }
}

export class UrlSigner {
  constructor(
    private readonly key: Buffer,
    private readonly now: () => number = Date.now,
  ) {}

  private mac(method: string, base: string, expires: number, user: string): Buffer {
    const pathname = base.split("?", 1)[0] as string;
    return createHmac("sha256", this.key)
      .update(`${method.toUpperCase()}\n${base}\n${cameraOfPath(pathname)}\n${expires}\n${user}`)
      .digest();
  }

  /** The target with the signature appended. `expires` is seconds since the epoch. */
  sign(method: string, target: string, user: string, expires: number): string {
    const sig = this.mac(method, target, expires, user).toString("base64url");
    const separator = target.includes("?") ? "&" : "?";
    return `${target}${separator}cg_exp=${expires}&cg_user=${encodeURIComponent(user)}&cg_sig=${sig}`;
  }

  /** Checks a signed target; returns the user and the unsigned target, or why it is refused. */
  verify(
    method: string,
    target: string,
  ): { ok: true; user: string; base: string } | { ok: false; reason: string } {
    const { base, params } = splitSigned(target);
    const expires = Number(params.get("cg_exp"));
    const user = params.get("cg_user") ?? "";
    const sig = params.get("cg_sig") ?? "";
    if (!Number.isInteger(expires) || user === "" || sig === "")
      return { ok: false, reason: "incomplete signature" };
    if (expires * 1000 < this.now()) return { ok: false, reason: "signed URL expired" };
    const expected = this.mac(method, base, expires, user);
    const given = Buffer.from(sig, "base64url");
    if (given.length !== expected.length || !timingSafeEqual(given, expected))
      return { ok: false, reason: "bad signature" };
    return { ok: true, user, base };
  }
}
