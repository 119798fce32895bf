/**
 * Who is asking, on camgate's RTSP server. Basic (a user's password or token) and MD5 Digest (ffmpeg, VLC
 * and GStreamer use both; SHA-256 Digest would lock ffmpeg out, MediaMTX notes), or a short-lived signed
 * token in the URL for clients with awkward auth forms (Blue Iris, copy-paste into Home Assistant or
 * Frigate). There is no loopback exemption (go2rtc's default, a known weakness): every request is judged,
 * failures count toward the same per-address limit as HTTP logins.
 */
import { randomBytes } from "node:crypto";
import { parseBasicAuthorization, parseDigestAuthorization } from "../../protocol/digest.ts";
import type { RtspRequest } from "../../protocol/rtsp.ts";
import { SIGNED_PARAMS } from "../../protocol/signed-url.ts";
import type { Authenticator, Principal } from "../auth/authenticator.ts";
import { digestProvesSecret } from "../auth/digest-check.ts";
import type { StreamGrants } from "../auth/stream-grants.ts";

export const RTSP_REALM = "camgate";

export type RtspAuthResult =
  | { ok: true; principal: Principal }
  | { ok: false; status: 401; reason: string; challenges: string[] }
  | { ok: false; status: 429; reason: string };

/** The signed part of an RTSP URL: its path and query, the per-track suffix (`/trackID=0`) taken off. */
export function signedTarget(uri: string): string | undefined {
  const match = /^rtsps?:\/\/[^/]+(\/[^\s]*)$/i.exec(uri);
  if (!match) return undefined;
  return (match[1] as string).replace(/\/trackID=\d+$/, "").replace(/\/$/, "");
}

export class RtspAuthenticator {
  constructor(
    private readonly auth: Authenticator,
    private readonly methods: readonly ("basic" | "digest")[] = ["basic", "digest"],
  ) {}

  /** Where sessions that outlive their request are held (ended when the users change; stream-grants.ts). */
  get grants(): StreamGrants {
    return this.auth.grants;
  }

  /** A nonce for a connection's challenges (16 random bytes in hex, as gortsplib makes them). */
  newNonce(): string {
    return randomBytes(16).toString("hex");
  }

  authenticate(request: RtspRequest, address: string, nonce: string): RtspAuthResult {
    // Without users camgate is open, as its HTTP side is (and, like it, only on loopback: config/validate).
    const door = this.auth.preamble(address);
    if (door.kind === "open") return { ok: true, principal: door.principal };
    if (door.kind === "blocked") return { ok: false, status: 429, reason: door.reason };
    // Only what is accepted is offered (a client given Digest uses it, and would fail where it is off).
    const challenges = [
      ...(this.methods.includes("digest")
        ? [`Digest realm="${RTSP_REALM}", nonce="${nonce}", algorithm=MD5`]
        : []),
      ...(this.methods.includes("basic") ? [`Basic realm="${RTSP_REALM}"`] : []),
    ];
    const refuse = (reason: string, failed = true): RtspAuthResult => {
      if (failed) door.failed();
      return { ok: false, status: 401, reason, challenges };
    };
    const target = signedTarget(request.uri);
    const header = request.headers.get("authorization");
    const credentials = header !== undefined && header.trim() !== "";
    // Credentials in the header win over a token in the URL: a client that keeps an ONVIF stream URI and
    // adds the user's password to it (Home Assistant's ONVIF integration does) still gets in once the
    // token has expired, through the challenge that follows.
    if (!credentials && target !== undefined && SIGNED_PARAMS.some((name) => target.includes(`${name}=`))) {
      const verdict = this.auth.checkSigned("RTSP", target);
      return verdict.ok ? { ok: true, principal: verdict.principal } : refuse(verdict.reason);
    }
    // Clients send their first request without credentials even when they have them (ffmpeg: go2rtc's
    // server.go): a challenge, on the same connection, and no failure counted.
    if (header === undefined || !credentials) return refuse("credentials required", false);
    const basic = parseBasicAuthorization(header);
    if (basic && this.methods.includes("basic")) {
      const principal = this.auth.checkBasic(basic.username, basic.password, "basic");
      return principal ? { ok: true, principal } : refuse("wrong user name or password");
    }
    const digest = this.methods.includes("digest") ? parseDigestAuthorization(header) : undefined;
    if (!digest) return refuse("unsupported Authorization scheme");
    // Another connection's nonce (or an old one) is a fresh challenge, not a failed login.
    if (digest.nonce !== nonce || digest.realm !== RTSP_REALM) return refuse("stale nonce", false);
    if (digest.algorithm !== "MD5") return refuse("only MD5 Digest");
    const user = this.auth.digestSecrets(digest.username);
    if (!user) return refuse("wrong user name or password");
    // Clients put the absolute URL in `uri` (most) or the path (some NVRs); either must be the request's.
    const uriMatches = digest.uri === request.uri || digest.uri === (signedTarget(request.uri) ?? "");
    if (!uriMatches) return refuse("the digest uri is not the request's");
    if (digestProvesSecret(digest, user.secrets, RTSP_REALM, request.method))
      return { ok: true, principal: { ...user.principal, via: "digest" } };
    return refuse(
      user.secrets.length === 0 ? "this user's secrets are hashed: use Basic" : "wrong user name or password",
    );
  }
}
