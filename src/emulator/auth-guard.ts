/**
 * The emulated camera's login check, as devices do it (reference §1): Digest MD5 with `qop="auth"`, a short
 * decimal nonce, a 40-hex opaque, the `realm, qop, nonce, opaque` parameter order; or Basic with
 * `realm="Device_CGI"` on 2014 firmware. Failed logins count per source address and lock it out.
 */
import { randomBytes, randomInt, timingSafeEqual } from "node:crypto";
import {
  computeDigest,
  formatDigestChallenge,
  parseBasicAuthorization,
  parseDigestAuthorization,
} from "../protocol/digest.ts";
import type { AuthScheme, NoncePolicy } from "./profiles.ts";

export type AuthOutcome =
  | { ok: true; username: string; newLogin: boolean }
  | { ok: false; challenge: string; failure: boolean; reason: string };

interface NonceState {
  opaque: string;
  issuedAt: number;
  /** Highest nc seen; 0 before first use. */
  lastNc: number;
  /** Every nc used with this nonce, to tell a replayed count from one that arrived out of order. */
  used: Set<number>;
}

export interface AuthGuardOptions {
  scheme: AuthScheme;
  noncePolicy: NoncePolicy;
  realm: string;
  username: string;
  password: string;
  nonceLifetimeMs: number;
  /** Answer a non-increasing `nc` with `stale=TRUE` instead of a plain fresh challenge. */
  staleOnNcRegression?: boolean;
  lockLoginTimes: () => number;
  lockDurationMs: () => number;
  now?: () => number;
  /** How a fresh nonce is written (the ONVIF door's `base64("onvif-digest:<n>")`, dahua-protocol.md). */
  nonceForm?: (decimal: string) => string;
}

const MAX_NONCES = 4096;

export class AuthGuard {
  private readonly nonces = new Map<string, NonceState>();
  private readonly failures = new Map<string, number>();
  private readonly lockedUntil = new Map<string, number>();
  private password: string;
  private readonly now: () => number;

  constructor(private readonly options: AuthGuardOptions) {
    this.password = options.password;
    this.now = options.now ?? Date.now;
  }

  setPassword(password: string): void {
    this.password = password;
  }

  /** Forget every nonce, as a reboot does. */
  resetNonces(): void {
    this.nonces.clear();
  }

  isLocked(address: string): boolean {
    const until = this.lockedUntil.get(address);
    if (until === undefined) return false;
    if (this.now() >= until) {
      this.lockedUntil.delete(address);
      this.failures.delete(address);
      return false;
    }
    return true;
  }

  lockedAddresses(): string[] {
    return [...this.lockedUntil.keys()].filter((address) => this.isLocked(address));
  }

  unlockAll(): void {
    this.lockedUntil.clear();
    this.failures.clear();
  }

  failureCount(address: string): number {
    return this.failures.get(address) ?? 0;
  }

  /** A 401 answer without judging any credentials (connection limit, lockout, no header). */
  challenge(stale = false): string {
    if (this.options.scheme === "basic") return `Basic realm="${this.options.realm}"`;
    const nonce = this.issueNonce();
    const state = this.nonces.get(nonce) as NonceState;
    return formatDigestChallenge({
      realm: this.options.realm,
      qop: "auth",
      nonce,
      opaque: state.opaque,
      // The stale answer carries algorithm and stale (Dahua builds, reference §1.2); the first does not.
      ...(stale ? { algorithm: "MD5", stale: true } : {}),
    });
  }

  check(
    method: string,
    requestTarget: string,
    authorization: string | undefined,
    address: string,
  ): AuthOutcome {
    if (this.isLocked(address)) return this.refuse(false, "locked");
    if (authorization === undefined || authorization.trim() === "")
      return this.refuse(false, "no credentials");
    return this.options.scheme === "basic"
      ? this.checkBasic(authorization, address)
      : this.checkDigest(method, requestTarget, authorization, address);
  }

  private checkBasic(authorization: string, address: string): AuthOutcome {
    const credentials = parseBasicAuthorization(authorization);
    if (!credentials) return this.refuse(false, "not basic");
    if (credentials.username === this.options.username && safeEqual(credentials.password, this.password)) {
      this.failures.delete(address);
      return { ok: true, username: credentials.username, newLogin: true };
    }
    return this.fail(address, "wrong password");
  }

  private checkDigest(
    method: string,
    requestTarget: string,
    authorization: string,
    address: string,
  ): AuthOutcome {
    const credentials = parseDigestAuthorization(authorization);
    // Basic sent to a Digest-only camera (python-amcrest tries it first) is answered with a challenge and
    // is not counted as a failed login; otherwise python-amcrest users would be locked out.
    if (!credentials) return this.refuse(false, "not digest");
    // Amcrest IP5M-1190EW and Dahua S2/S3 firmware reject a quoted nc (scrypted#2122); a quoted qop, as
    // Python requests sends it, is accepted.
    if (credentials.quoted.nc || credentials.quoted.algorithm)
      return this.fail(address, "quoted nc or algorithm");
    if (credentials.algorithm !== "MD5") return this.fail(address, "algorithm");
    if (credentials.realm !== this.options.realm) return this.fail(address, "realm");
    if (credentials.username !== this.options.username) return this.fail(address, "user");
    if (credentials.uri !== requestTarget) return this.fail(address, "uri does not match the request target");
    const state = this.nonces.get(credentials.nonce);
    if (state === undefined) return this.refuse(false, "unknown nonce");
    if (credentials.opaque !== state.opaque) return this.fail(address, "opaque not echoed");
    if (credentials.qop !== "auth" || credentials.nc === undefined || credentials.cnonce === undefined) {
      return this.fail(address, "qop");
    }
    const expected = computeDigest({
      algorithm: "MD5",
      username: credentials.username,
      password: this.password,
      realm: this.options.realm,
      nonce: credentials.nonce,
      method,
      uri: requestTarget,
      qop: "auth",
      nc: credentials.nc,
      cnonce: credentials.cnonce,
    }).response;
    if (!safeEqual(expected, credentials.response)) return this.fail(address, "wrong response");
    const nc = Number.parseInt(credentials.nc, 16);
    if (state.used.has(nc)) return this.refuse(false, "nc reused");
    if (!/^[0-9a-fA-F]{8}$/.test(credentials.nc) || !(nc > state.lastNc)) {
      // A replayed or non-increasing nc is not a wrong password: this request gets a fresh challenge, and the
      // nonce stays valid for higher counts (a client's parallel requests may arrive out of order).
      return this.refuse(this.options.staleOnNcRegression === true, "nc not increasing");
    }
    if (this.options.noncePolicy === "single-use" && state.lastNc > 0) {
      this.nonces.delete(credentials.nonce);
      return this.refuse(false, "nonce already used");
    }
    if (this.now() - state.issuedAt > this.options.nonceLifetimeMs) {
      this.nonces.delete(credentials.nonce);
      return this.refuse(true, "nonce expired");
    }
    const newLogin = state.lastNc === 0;
    state.lastNc = nc;
    if (state.used.size < 4096) state.used.add(nc);
    this.failures.delete(address);
    return { ok: true, username: credentials.username, newLogin };
  }

  private refuse(stale: boolean, reason: string): AuthOutcome {
    return { ok: false, challenge: this.challenge(stale), failure: false, reason };
  }

  private fail(address: string, reason: string): AuthOutcome {
    this.countFailure(address);
    return { ok: false, challenge: this.challenge(false), failure: true, reason };
  }

  /** A failed login by another door of the camera (RTSP): it counts toward the same lockout. */
  countFailure(address: string): void {
    const count = (this.failures.get(address) ?? 0) + 1;
    this.failures.set(address, count);
    if (count >= this.options.lockLoginTimes()) {
      this.lockedUntil.set(address, this.now() + this.options.lockDurationMs());
    }
  }

  /** A successful login by another door: the failure count starts again. */
  countSuccess(address: string): void {
    this.failures.delete(address);
  }

  /** The current password (for the RTSP door's own Digest check). */
  get currentPassword(): string {
    return this.password;
  }

  private issueNonce(): string {
    // Real nonces are short decimal strings ("4220250", "1099556286"; reference §1.2).
    const form = this.options.nonceForm ?? ((decimal: string) => decimal);
    let nonce = form(String(randomInt(1, 2 ** 31 - 1)));
    while (this.nonces.has(nonce)) nonce = form(String(randomInt(1, 2 ** 31 - 1)));
    this.nonces.set(nonce, {
      opaque: randomBytes(20).toString("hex"),
      issuedAt: this.now(),
      lastNc: 0,
      used: new Set(),
    });
    if (this.nonces.size > MAX_NONCES) {
      const oldest = this.nonces.keys().next().value;
      if (oldest !== undefined) this.nonces.delete(oldest);
    }
    return nonce;
  }
}

function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
