/** A hand-made Digest header, as the "direct" baselines of the benchmarks send it (nonce reused, nc counted). */
import { randomBytes } from "node:crypto";
import {
  type DigestChallenge,
  formatDigestAuthorization,
  formatNonceCount,
} from "../../src/protocol/digest.ts";

export function digestHeader(challenge: DigestChallenge, uri: string, password: string, nc: number): string {
  return formatDigestAuthorization({
    algorithm: "MD5",
    username: "admin",
    password,
    realm: challenge.realm,
    nonce: challenge.nonce,
    method: "GET",
    uri,
    qop: "auth",
    nc: formatNonceCount(nc),
    cnonce: randomBytes(8).toString("hex"),
    ...(challenge.opaque !== undefined ? { opaque: challenge.opaque } : {}),
  });
}
