/**
 * HTTP Digest authentication (RFC 2617, RFC 7616, and the RFC 2069 no-qop form Dahua RTSP uses), both sides:
 * the client computes and formats `Authorization`, the emulator parses and verifies it.
 *
 * Pure: hashing comes from node:crypto, nothing here touches a socket or a clock (the cnonce is an argument).
 *
 * SHA-512-256 is FIPS 180-4 SHA-512/256, as RFC 7616 specifies. The RFC's own §3.9.2 example was computed
 * with SHA-512 truncated to 256 bits (an RFC erratum; the tests pin both the FIPS and the printed value); we follow the
 * specification, not the erratum, and the tests pin both facts.
 */
import { createHash } from "node:crypto";
import { type AuthChallenge, parseAuthHeader, quote } from "./auth-header.ts";

export type DigestAlgorithm =
  | "MD5"
  | "MD5-sess"
  | "SHA-256"
  | "SHA-256-sess"
  | "SHA-512-256"
  | "SHA-512-256-sess";

export type Qop = "auth" | "auth-int";

export interface DigestChallenge {
  scheme: "digest";
  realm: string;
  nonce: string;
  opaque?: string;
  /** The qop options the server offers; empty for an RFC 2069 challenge. */
  qop: Qop[];
  algorithm: DigestAlgorithm;
  stale: boolean;
  userhash: boolean;
  charset?: string;
}

export interface BasicChallenge {
  scheme: "basic";
  realm: string;
}

export type SupportedChallenge = DigestChallenge | BasicChallenge;

const ALGORITHMS: Record<string, DigestAlgorithm> = {
  md5: "MD5",
  "md5-sess": "MD5-sess",
  "sha-256": "SHA-256",
  "sha-256-sess": "SHA-256-sess",
  "sha-512-256": "SHA-512-256",
  "sha-512-256-sess": "SHA-512-256-sess",
};

const STRENGTH: Record<DigestAlgorithm, number> = {
  MD5: 1,
  "MD5-sess": 1,
  "SHA-256": 2,
  "SHA-256-sess": 2,
  "SHA-512-256": 3,
  "SHA-512-256-sess": 3,
};

/** Turns a parsed challenge into a typed one, or undefined when the scheme or algorithm is not supported. */
export function toSupportedChallenge(challenge: AuthChallenge): SupportedChallenge | undefined {
  if (challenge.scheme === "basic") return { scheme: "basic", realm: challenge.params.realm ?? "" };
  if (challenge.scheme !== "digest") return undefined;
  const { params } = challenge;
  if (params.nonce === undefined) return undefined;
  const algorithm = ALGORITHMS[(params.algorithm ?? "MD5").toLowerCase()];
  if (algorithm === undefined) return undefined;
  const qop = (params.qop ?? "")
    .split(",")
    .map((q) => q.trim().toLowerCase())
    .filter((q): q is Qop => q === "auth" || q === "auth-int");
  const result: DigestChallenge = {
    scheme: "digest",
    realm: params.realm ?? "",
    nonce: params.nonce,
    qop,
    algorithm,
    // Dahua firmware sends `stale=TRUE` unquoted and upper case (reference §1.2); ONVIF sends "false".
    stale: (params.stale ?? "").toLowerCase() === "true",
    userhash: (params.userhash ?? "").toLowerCase() === "true",
  };
  if (params.opaque !== undefined) result.opaque = params.opaque;
  if (params.charset !== undefined) result.charset = params.charset;
  return result;
}

/**
 * Picks what to answer from the `WWW-Authenticate` header(s): the strongest supported Digest challenge,
 * else Basic, else undefined. Basic is chosen only when the server offers nothing better (principle 2).
 */
export function pickChallenge(headerValues: string | readonly string[]): SupportedChallenge | undefined {
  const supported = parseAuthHeader(headerValues)
    .map(toSupportedChallenge)
    .filter((c): c is SupportedChallenge => c !== undefined);
  let best: SupportedChallenge | undefined;
  for (const candidate of supported) {
    if (best === undefined) best = candidate;
    else if (candidate.scheme === "digest") {
      if (best.scheme === "basic" || STRENGTH[candidate.algorithm] > STRENGTH[best.algorithm])
        best = candidate;
    }
  }
  return best;
}

export function hashFor(algorithm: DigestAlgorithm): (data: string | Buffer) => string {
  const name = algorithm.startsWith("SHA-512-256")
    ? "sha512-256"
    : algorithm.startsWith("SHA-256")
      ? "sha256"
      : "md5";
  return (data) => createHash(name).update(data).digest("hex");
}

export interface DigestInputs {
  algorithm: DigestAlgorithm;
  username: string;
  password: string;
  realm: string;
  nonce: string;
  method: string;
  /** The exact request target as sent on the request line (path plus query, byte for byte). */
  uri: string;
  /** Omit for the RFC 2069 form (no qop, no nc, no cnonce). */
  qop?: Qop;
  /** Eight lowercase hex digits, e.g. `00000001`. */
  nc?: string;
  cnonce?: string;
  /** Entity body, needed for `auth-int`. */
  body?: string | Buffer;
}

export interface DigestComputation {
  ha1: string;
  ha2: string;
  response: string;
}

/** HA1 from an already-known H(user:realm:password), as a server may store it instead of the password. */
export function computeDigestFromHa1(
  inputs: Omit<DigestInputs, "password">,
  baseHa1: string,
): DigestComputation {
  const h = hashFor(inputs.algorithm);
  const ha1 = inputs.algorithm.endsWith("-sess")
    ? h(`${baseHa1}:${inputs.nonce}:${inputs.cnonce ?? ""}`)
    : baseHa1;
  const ha2 =
    inputs.qop === "auth-int"
      ? h(`${inputs.method}:${inputs.uri}:${h(inputs.body ?? "")}`)
      : h(`${inputs.method}:${inputs.uri}`);
  const response =
    inputs.qop === undefined
      ? h(`${ha1}:${inputs.nonce}:${ha2}`)
      : h(`${ha1}:${inputs.nonce}:${inputs.nc ?? ""}:${inputs.cnonce ?? ""}:${inputs.qop}:${ha2}`);
  return { ha1, ha2, response };
}

export function computeDigest(inputs: DigestInputs): DigestComputation {
  const h = hashFor(inputs.algorithm);
  return computeDigestFromHa1(inputs, h(`${inputs.username}:${inputs.realm}:${inputs.password}`));
}

/** `nc` as the eight lowercase hex digits the RFC requires. */
export function formatNonceCount(count: number): string {
  return count.toString(16).padStart(8, "0");
}

const ASCII_PRINTABLE = /^[\x20-\x7e]*$/;

/** RFC 5987 `ext-value` for `username*`: UTF-8 percent-encoding of everything but attr-chars. */
export function encodeExtValue(value: string): string {
  const encoded = Array.from(Buffer.from(value, "utf8"))
    .map((byte) => {
      const ch = String.fromCharCode(byte);
      return /[A-Za-z0-9!#$&+\-.^_`|~]/.test(ch)
        ? ch
        : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
    })
    .join("");
  return `UTF-8''${encoded}`;
}

export interface AuthorizationInputs extends DigestInputs {
  opaque?: string;
  /** The server's `userhash=true`: send H(username:realm) instead of the name. */
  userhash?: boolean;
}

/**
 * Computes and formats a Digest `Authorization` header value.
 *
 * `algorithm`, `qop` and `nc` are unquoted: RFC 7616 §3.4 forbids quoting them, and Amcrest IP5M-1190EW and
 * Dahua S2/S3 firmware answer 401 to a quoted `nc` or `qop` (scrypted#2122, reference §1.4).
 */
export function formatDigestAuthorization(inputs: AuthorizationInputs): string {
  const { response } = computeDigest(inputs);
  const parts: string[] = [];
  if (inputs.userhash) {
    const h = hashFor(inputs.algorithm);
    parts.push(`username=${quote(h(`${inputs.username}:${inputs.realm}`))}`);
  } else if (ASCII_PRINTABLE.test(inputs.username) && !inputs.username.includes('"')) {
    parts.push(`username=${quote(inputs.username)}`);
  } else {
    parts.push(`username*=${encodeExtValue(inputs.username)}`);
  }
  parts.push(`realm=${quote(inputs.realm)}`);
  parts.push(`nonce=${quote(inputs.nonce)}`);
  parts.push(`uri=${quote(inputs.uri)}`);
  parts.push(`algorithm=${inputs.algorithm}`);
  parts.push(`response=${quote(response)}`);
  if (inputs.opaque !== undefined) parts.push(`opaque=${quote(inputs.opaque)}`);
  if (inputs.qop !== undefined) {
    parts.push(`qop=${inputs.qop}`);
    parts.push(`nc=${inputs.nc ?? "00000001"}`);
    parts.push(`cnonce=${quote(inputs.cnonce ?? "")}`);
  }
  if (inputs.userhash) parts.push("userhash=true");
  return `Digest ${parts.join(", ")}`;
}

export function formatBasicAuthorization(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`, "utf8").toString("base64")}`;
}

/** The server side's view of a Digest `Authorization` header. */
export interface DigestCredentials {
  username: string;
  realm: string;
  nonce: string;
  uri: string;
  response: string;
  algorithm: DigestAlgorithm;
  opaque?: string;
  qop?: Qop;
  nc?: string;
  cnonce?: string;
  userhash: boolean;
  /** Raw parameter values as they appeared, to check quoting quirks: true where the value was quoted. */
  quoted: Record<string, boolean>;
}

/** Decodes `username*=UTF-8''J%C3%A4s...`. */
export function decodeExtValue(value: string): string {
  const match = /^([^']*)'[^']*'(.*)$/.exec(value);
  if (!match) return value;
  return Buffer.from(
    (match[2] ?? "").replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) =>
      String.fromCharCode(Number.parseInt(hex, 16)),
    ),
    "latin1",
  ).toString("utf8");
}

/** Parses a Digest `Authorization` header; undefined when it is not Digest or lacks a required field. */
export function parseDigestAuthorization(header: string): DigestCredentials | undefined {
  const [credentials] = parseAuthHeader(header);
  if (credentials?.scheme !== "digest") return undefined;
  const p = credentials.params;
  const username = p.username ?? (p["username*"] !== undefined ? decodeExtValue(p["username*"]) : undefined);
  if (username === undefined || p.nonce === undefined || p.uri === undefined || p.response === undefined) {
    return undefined;
  }
  const algorithm = ALGORITHMS[(p.algorithm ?? "MD5").toLowerCase()];
  if (algorithm === undefined) return undefined;
  const qop = p.qop === undefined ? undefined : p.qop.toLowerCase();
  if (qop !== undefined && qop !== "auth" && qop !== "auth-int") return undefined;
  const result: DigestCredentials = {
    username,
    realm: p.realm ?? "",
    nonce: p.nonce,
    uri: p.uri,
    response: p.response.toLowerCase(),
    algorithm,
    userhash: (p.userhash ?? "").toLowerCase() === "true",
    quoted: quotedParams(header),
  };
  if (p.opaque !== undefined) result.opaque = p.opaque;
  if (qop !== undefined) result.qop = qop;
  if (p.nc !== undefined) result.nc = p.nc;
  if (p.cnonce !== undefined) result.cnonce = p.cnonce;
  return result;
}

/** Which parameter names had a quoted value. Servers that reject quoted `nc` need this. */
function quotedParams(header: string): Record<string, boolean> {
  const result: Record<string, boolean> = {};
  const pattern = /([!#$%&'*+\-.^_`|~0-9A-Za-z]+)\s*=\s*("?)/g;
  // Skip the scheme token; strip quoted strings' contents so commas or '=' inside them are not mistaken.
  const stripped = header.replace(/"(?:[^"\\]|\\.)*"/g, (m) => `"${" ".repeat(Math.max(0, m.length - 2))}"`);
  for (const match of stripped.matchAll(pattern)) {
    result[(match[1] as string).toLowerCase()] = match[2] === '"';
  }
  return result;
}

export interface DigestChallengeFields {
  realm: string;
  nonce: string;
  opaque?: string;
  qop?: string;
  algorithm?: string;
  stale?: boolean;
}

/**
 * Formats a challenge in Dahua's CGI parameter order: `realm, qop, nonce, opaque`, then `algorithm` and
 * `stale` (upper case, unquoted) when present, as the stale answers of reference §1.2 look.
 */
export function formatDigestChallenge(fields: DigestChallengeFields): string {
  const parts = [`realm=${quote(fields.realm)}`];
  if (fields.qop !== undefined) parts.push(`qop=${quote(fields.qop)}`);
  parts.push(`nonce=${quote(fields.nonce)}`);
  if (fields.opaque !== undefined) parts.push(`opaque=${quote(fields.opaque)}`);
  if (fields.algorithm !== undefined) parts.push(`algorithm=${fields.algorithm}`);
  if (fields.stale !== undefined) parts.push(`stale=${fields.stale ? "TRUE" : "FALSE"}`);
  return `Digest ${parts.join(", ")}`;
}

/** Decodes a Basic `Authorization` header into user and password; undefined if it is not well-formed Basic. */
export function parseBasicAuthorization(header: string): { username: string; password: string } | undefined {
  const match = /^\s*basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!match) return undefined;
  const decoded = Buffer.from(match[1] as string, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return undefined;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
