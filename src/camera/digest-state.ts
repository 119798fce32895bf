/**
 * The client's authentication state for one camera: the last challenge, the shared nonce count, and whether
 * the camera is one that issues a new nonce per request. No I/O; the session drives it.
 *
 * Principle 2 of DESIGN.md: the cached challenge is reused with an incrementing `nc` (one round trip per
 * call); `nc` is taken synchronously, so parallel requests never share one; Basic is used only when the
 * camera's own challenge is Basic.
 */
import { randomBytes } from "node:crypto";
import {
  formatBasicAuthorization,
  formatDigestAuthorization,
  formatNonceCount,
  type Qop,
  type SupportedChallenge,
} from "../protocol/digest.ts";

export interface SignedRequest {
  header: string;
  /** The nonce signed with (undefined for Basic), to tell later whether the challenge changed meanwhile. */
  nonce: string | undefined;
}

/** Consecutive pre-emptive attempts answered with a new nonce before the camera counts as single-use. */
const MISSES_BEFORE_PER_REQUEST = 2;

export class DigestState {
  private challenge: SupportedChallenge | undefined;
  private nonceCount = 0;
  private misses = 0;
  /** The camera answers every reuse of a nonce with 401 (Dahua NVR5464, rroller/dahua#603). */
  perRequestNonce = false;

  constructor(
    private username: string,
    private password: string,
  ) {}

  setCredentials(username: string, password: string): void {
    this.username = username;
    this.password = password;
    this.nonceCount = 0;
  }

  get hasChallenge(): boolean {
    return this.challenge !== undefined;
  }

  get currentNonce(): string | undefined {
    return this.challenge?.scheme === "digest" ? this.challenge.nonce : undefined;
  }

  /** The scheme the camera asked for, once it has asked. */
  get scheme(): "digest" | "basic" | undefined {
    return this.challenge?.scheme;
  }

  adopt(challenge: SupportedChallenge): void {
    const sameNonce = challenge.scheme === "digest" && this.currentNonce === challenge.nonce;
    this.challenge = challenge;
    if (!sameNonce) this.nonceCount = 0;
  }

  /** Forget the challenge, so the next request asks for a fresh one (after a credential failure). */
  forget(): void {
    this.challenge = undefined;
    this.nonceCount = 0;
  }

  /** A pre-emptive attempt was refused with a new (not stale) nonce, and the new nonce then worked. */
  recordMiss(): void {
    this.misses++;
    if (this.misses >= MISSES_BEFORE_PER_REQUEST) this.perRequestNonce = true;
  }

  recordPreemptiveSuccess(): void {
    this.misses = 0;
  }

  /** Signs with the cached challenge, taking the next `nc`; undefined when there is none to use. */
  sign(method: string, uri: string, body?: Buffer): SignedRequest | undefined {
    const challenge = this.challenge;
    if (!challenge) return undefined;
    if (challenge.scheme === "basic")
      return { header: formatBasicAuthorization(this.username, this.password), nonce: undefined };
    const qop: Qop | undefined = challenge.qop.includes("auth")
      ? "auth"
      : challenge.qop.includes("auth-int") && body !== undefined
        ? "auth-int"
        : undefined;
    if (challenge.qop.length > 0 && qop === undefined) return undefined;
    this.nonceCount++;
    const header = formatDigestAuthorization({
      algorithm: challenge.algorithm,
      username: this.username,
      password: this.password,
      realm: challenge.realm,
      nonce: challenge.nonce,
      method,
      uri,
      ...(qop !== undefined
        ? { qop, nc: formatNonceCount(this.nonceCount), cnonce: randomBytes(8).toString("hex") }
        : {}),
      ...(challenge.opaque !== undefined ? { opaque: challenge.opaque } : {}),
      ...(body !== undefined ? { body } : {}),
      userhash: challenge.userhash,
    });
    return { header, nonce: challenge.nonce };
  }
}
