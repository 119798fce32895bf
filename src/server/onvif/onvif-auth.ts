/**
 * Who is asking, on a camera's ONVIF face. WS-Security UsernameToken digest (what ONVIF clients send: the
 * npm `onvif` client, Home Assistant's onvif-zeep) is verified against camgate's users, with `Created`
 * within a window and each nonce accepted once; HTTP Digest (RFC 7616, MD5, qop=auth) for clients that use
 * it, on a 401 challenge. Both need the secret in plain text (a hashed password cannot answer a digest).
 *
 * The operations a client needs before it can sign (the clock, the service addresses) are open, as on
 * Dahua devices (go2rtc `pkg/onvif/README.md`). Failures count toward the same per-address limit as every
 * other login. A PasswordText token (the password in the clear) is refused: nothing here is worth the risk.
 */
import { randomBytes } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { parseDigestAuthorization } from "../../protocol/digest.ts";
import type { SoapRequest } from "../../protocol/soap.ts";
import { NonceMemory, verifyUsernameToken } from "../../protocol/ws-security.ts";
import type { Authenticator, Principal } from "../auth/authenticator.ts";
import { digestProvesSecret } from "../auth/digest-check.ts";

export const ONVIF_REALM = "camgate-onvif";

/** Asked before a client can sign: its clock, where the services are, what they can do. */
export const OPEN_OPERATIONS = new Set([
  "GetSystemDateAndTime",
  "GetCapabilities",
  "GetServices",
  "GetServiceCapabilities",
]);

/** How far a token's `Created` may be from camgate's clock (ONVIF clients learn the device's clock first). */
const CREATED_WINDOW_MS = 5 * 60_000;
/** HTTP Digest nonces stay valid this long. */
const NONCE_LIFETIME_MS = 5 * 60_000;
const MAX_NONCES = 10_000;

export type OnvifAuthResult =
  | { ok: true; principal: Principal | undefined }
  /** 401 with a Digest challenge (no credentials, or HTTP Digest that failed). */
  | { ok: false; status: 401; reason: string; challenge: string }
  /** 400 with a `ter:NotAuthorized` fault (a WS-Security token that failed). */
  | { ok: false; status: 400; reason: string }
  | { ok: false; status: 429; reason: string; retryAfterSeconds: number };

/** `nc` as RFC 7616 writes it: eight hex digits. */
function nonceCount(nc: string | undefined): number | undefined {
  return nc !== undefined && /^[0-9a-fA-F]{8}$/.test(nc) ? Number.parseInt(nc, 16) : undefined;
}

export class OnvifAuthenticator {
  private readonly tokenNonces = new NonceMemory(CREATED_WINDOW_MS);
  /**
   * HTTP Digest nonces camgate issued, with when and the highest nonce count accepted with each: a count
   * must go up (RFC 7616 §3.4.5, as the cameras demand of camgate), so a captured `Authorization` header
   * cannot be sent again, with this body or another. Without qop (RFC 2069, no count) a nonce is good once.
   */
  private readonly digestNonces = new Map<string, { issuedAt: number; lastCount: number }>();

  constructor(
    private readonly auth: Authenticator,
    private readonly now: () => number = Date.now,
  ) {}

  private challenge(stale = false): string {
    const now = this.now();
    for (const [nonce, { issuedAt }] of this.digestNonces) {
      if (issuedAt > now - NONCE_LIFETIME_MS && this.digestNonces.size < MAX_NONCES) break;
      this.digestNonces.delete(nonce);
    }
    const nonce = randomBytes(16).toString("hex");
    this.digestNonces.set(nonce, { issuedAt: now, lastCount: 0 });
    return `Digest realm="${ONVIF_REALM}", qop="auth", nonce="${nonce}", algorithm=MD5${stale ? ", stale=TRUE" : ""}`;
  }

  authenticate(req: IncomingMessage, soap: SoapRequest): OnvifAuthResult {
    if (OPEN_OPERATIONS.has(soap.operation)) return { ok: true, principal: undefined };
    const door = this.auth.preamble(this.auth.clientAddress(req));
    if (door.kind === "open") return { ok: true, principal: door.principal };
    if (door.kind === "blocked")
      return { ok: false, status: 429, reason: door.reason, retryAfterSeconds: door.retryAfterSeconds };

    const token = soap.token;
    if (token) {
      const refuse = (reason: string): OnvifAuthResult => {
        door.failed();
        return { ok: false, status: 400, reason };
      };
      const user = this.auth.digestSecrets(token.username);
      if (!user) return refuse("wrong user name or password");
      const verdict = verifyUsernameToken(token, user.secrets, this.now(), {
        windowMs: CREATED_WINDOW_MS,
        allowText: false,
      });
      if (!verdict.ok) {
        const reasons = {
          "wrong-password": "wrong user name or password",
          "stale-created": "the token's Created is outside camgate's window (is the client's clock right?)",
          "bad-token": "not a PasswordDigest UsernameToken with a Nonce and a Created",
          "text-not-allowed": "PasswordText is refused: sign with PasswordDigest",
        } as const;
        return refuse(reasons[verdict.reason]);
      }
      // Checked after the digest, so nobody can spend a nonce on someone else's behalf; remembered as the
      // bytes it decodes to (the verdict has made sure it is canonical base64), not as text.
      if (!this.tokenNonces.remember(Buffer.from(token.nonce ?? "", "base64").toString("hex"), this.now()))
        return refuse("the token's nonce was used before (a replayed request)");
      return { ok: true, principal: { ...user.principal, via: "basic" } };
    }

    const header = req.headers.authorization;
    if (header === undefined || header.trim() === "")
      return { ok: false, status: 401, reason: "credentials required", challenge: this.challenge() };
    const digest = parseDigestAuthorization(header);
    const fail = (reason: string, stale = false): OnvifAuthResult => {
      if (!stale) door.failed();
      return { ok: false, status: 401, reason, challenge: this.challenge(stale) };
    };
    if (digest?.algorithm !== "MD5") return fail("only WS-Security or MD5 HTTP Digest");
    const issued = this.digestNonces.get(digest.nonce);
    if (
      issued === undefined ||
      issued.issuedAt < this.now() - NONCE_LIFETIME_MS ||
      digest.realm !== ONVIF_REALM
    )
      return fail("stale nonce", true);
    if (digest.uri !== req.url) return fail("the digest uri is not the request's");
    const count = digest.qop === undefined ? 1 : nonceCount(digest.nc);
    if (count === undefined || (digest.qop !== undefined && digest.cnonce === undefined))
      return fail("qop=auth needs an nc and a cnonce");
    const user = this.auth.digestSecrets(digest.username);
    if (!user) return fail("wrong user name or password");
    const matches = digestProvesSecret(digest, user.secrets, ONVIF_REALM, req.method ?? "POST");
    if (!matches) return fail("wrong user name or password");
    // Judged after the digest, so nobody can spend a count on someone else's behalf. A replay is answered
    // as a stale nonce: an honest client that raced itself signs again with a fresh one.
    if (count <= issued.lastCount) return fail("a nonce count used before (a replayed request)", true);
    if (digest.qop === undefined) this.digestNonces.delete(digest.nonce);
    else issued.lastCount = count;
    return { ok: true, principal: user.principal };
  }
}
