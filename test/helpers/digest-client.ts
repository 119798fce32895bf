/**
 * A deliberately simple Digest client for emulator tests: it lets a test choose every detail (nc, quoting,
 * nonce reuse) that a real client would get right or wrong. The gateway's own client is src/camera/.
 */
import { randomBytes } from "node:crypto";
import { parseAuthHeader } from "../../src/protocol/auth-header.ts";
import { computeDigest } from "../../src/protocol/digest.ts";
import { httpGet, type RawResponse } from "./http.ts";

export interface Challenge {
  realm: string;
  nonce: string;
  opaque: string | undefined;
  stale: string | undefined;
  algorithm: string | undefined;
  raw: string;
}

export function challengeOf(response: RawResponse): Challenge {
  const raw = String(response.headers["www-authenticate"] ?? "");
  const [parsed] = parseAuthHeader(raw);
  if (parsed?.scheme !== "digest") throw new Error(`no Digest challenge in ${JSON.stringify(raw)}`);
  return {
    realm: parsed.params.realm ?? "",
    nonce: parsed.params.nonce ?? "",
    opaque: parsed.params.opaque,
    stale: parsed.params.stale,
    algorithm: parsed.params.algorithm,
    raw,
  };
}

export interface SignOptions {
  username?: string;
  password: string;
  nc?: number;
  quoteNc?: boolean;
  quoteQop?: boolean;
  method?: string;
  /** Sign a different uri than the one requested. */
  signedUri?: string;
  omitOpaque?: boolean;
}

export function authorization(challenge: Challenge, target: string, options: SignOptions): string {
  const username = options.username ?? "admin";
  const nc = (options.nc ?? 1).toString(16).padStart(8, "0");
  const cnonce = randomBytes(8).toString("hex");
  const uri = options.signedUri ?? target;
  const { response } = computeDigest({
    algorithm: "MD5",
    username,
    password: options.password,
    realm: challenge.realm,
    nonce: challenge.nonce,
    method: options.method ?? "GET",
    uri,
    qop: "auth",
    nc,
    cnonce,
  });
  const q = (v: string) => `"${v}"`;
  const parts = [
    `username=${q(username)}`,
    `realm=${q(challenge.realm)}`,
    `nonce=${q(challenge.nonce)}`,
    `uri=${q(uri)}`,
    `response=${q(response)}`,
    "algorithm=MD5",
    options.quoteQop ? `qop=${q("auth")}` : "qop=auth",
    options.quoteNc ? `nc=${q(nc)}` : `nc=${nc}`,
    `cnonce=${q(cnonce)}`,
  ];
  if (challenge.opaque !== undefined && !options.omitOpaque) parts.push(`opaque=${q(challenge.opaque)}`);
  return `Digest ${parts.join(", ")}`;
}

/** GETs `target` on `base`: first unauthenticated (to get the challenge), then signed with nc=1. */
export async function digestGet(
  base: string,
  target: string,
  options: SignOptions,
): Promise<{ response: RawResponse; challenge: Challenge }> {
  const first = await httpGet(`${base}${target}`);
  if (first.status !== 401)
    return {
      response: first,
      challenge: { realm: "", nonce: "", opaque: undefined, stale: undefined, algorithm: undefined, raw: "" },
    };
  const challenge = challengeOf(first);
  const response = await httpGet(`${base}${target}`, {
    Authorization: authorization(challenge, target, options),
  });
  return { response, challenge };
}
