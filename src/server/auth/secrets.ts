/**
 * Stored secrets (user passwords and tokens): plain (normally from `${ENV}`), `sha256:<hex>` (for random
 * tokens, which need no slow hash) or `scrypt:<salt>:<hash>` (base64, N=16384 r=8 p=1, for passwords).
 * Comparisons are constant-time; a verified scrypt candidate is remembered briefly so that Basic auth on
 * every request does not cost a scrypt run each time.
 */
import { createHash, randomBytes, scryptSync, timingSafeEqual } from "node:crypto";

const SCRYPT = { N: 16384, r: 8, p: 1, keylen: 32 } as const;
const CACHE_MS = 5 * 60_000;
const CACHE_MAX = 1024;

function sha256(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}

export function hashToken(token: string): string {
  return `sha256:${sha256(token).toString("hex")}`;
}

export function hashPassword(password: string): string {
  const salt = randomBytes(16);
  const hash = scryptSync(password, salt, SCRYPT.keylen, { N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p });
  return `scrypt:${salt.toString("base64")}:${hash.toString("base64")}`;
}

export function createToken(): { token: string; hash: string } {
  const token = randomBytes(32).toString("base64url");
  return { token, hash: hashToken(token) };
}

/** One stored secret, checked against candidates. */
export class StoredSecret {
  private readonly verified = new Map<string, number>();

  constructor(private readonly stored: string) {
    if (stored.startsWith("scrypt:") && stored.split(":").length !== 3)
      throw new Error("scrypt hashes look like scrypt:<salt>:<hash>");
    if (stored.startsWith("sha256:") && !/^sha256:[0-9a-f]{64}$/i.test(stored))
      throw new Error("sha256 hashes look like sha256:<64 hex>");
  }

  /** The secret itself when it is stored in plain text (Digest needs it), else undefined. */
  get plain(): string | undefined {
    return this.stored.startsWith("sha256:") || this.stored.startsWith("scrypt:") ? undefined : this.stored;
  }

  matches(candidate: string): boolean {
    if (this.stored.startsWith("sha256:")) {
      return timingSafeEqual(sha256(candidate), Buffer.from(this.stored.slice(7), "hex"));
    }
    if (this.stored.startsWith("scrypt:")) {
      const key = sha256(candidate).toString("base64");
      const until = this.verified.get(key);
      if (until !== undefined && until > Date.now()) return true;
      const [, salt, hash] = this.stored.split(":") as [string, string, string];
      const expected = Buffer.from(hash, "base64");
      const actual = scryptSync(candidate, Buffer.from(salt, "base64"), expected.length, {
        N: SCRYPT.N,
        r: SCRYPT.r,
        p: SCRYPT.p,
      });
      const ok = timingSafeEqual(actual, expected);
      if (ok) {
        if (this.verified.size >= CACHE_MAX) this.verified.clear();
        this.verified.set(key, Date.now() + CACHE_MS);
      }
      return ok;
    }
    // Plain: compare digests, so that length does not leak either.
    return timingSafeEqual(sha256(candidate), sha256(this.stored));
  }
}
