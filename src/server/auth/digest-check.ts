/**
 * Whether a Digest response (RFC 7616, MD5, `qop=auth` or RFC 2069 without qop) proves one of a user's
 * secrets, compared in constant time. Shared by the doors that take Digest from clients (RTSP, the ONVIF
 * face); each judges its own nonce, realm and uri before asking this.
 */
import { timingSafeEqual } from "node:crypto";
import { computeDigest, type DigestCredentials } from "../../protocol/digest.ts";

export function digestProvesSecret(
  credentials: DigestCredentials,
  secrets: readonly string[],
  realm: string,
  method: string,
): boolean {
  return secrets.some((secret) => {
    const expected = computeDigest({
      algorithm: "MD5",
      username: credentials.username,
      password: secret,
      realm,
      nonce: credentials.nonce,
      method,
      uri: credentials.uri,
      ...(credentials.qop === "auth" && credentials.nc && credentials.cnonce
        ? { qop: "auth" as const, nc: credentials.nc, cnonce: credentials.cnonce }
        : {}),
    }).response;
    const a = Buffer.from(expected);
    const b = Buffer.from(credentials.response);
    return a.length === b.length && timingSafeEqual(a, b);
  });
}
