/**
 * The JSON-RPC a Dahua camera's web UI speaks (`/RPC2_Login`, `/RPC2`), as public client libraries describe
 * it (rroller/dahua `rpc2.py` after a gist reversed from the UI's rpcCore.js; the error codes as they quote
 * the UI's interfaceLogin.js): the login hash and the error codes. Pure.
 */
import { createHash } from "node:crypto";

export const RPC2_CODES = {
  /** Step 1 of the login: here are `realm` and `random`. */
  challenge: 268632079,
  userInvalid: 268632070,
  passwordInvalid: 268632071,
  locked: 268632081,
  requestInvalid: 268894209,
  methodNotFound: 268894210,
  sessionInvalid: 28763750,
} as const;

/** Step 2's `password`: MD5(user:random:MD5(user:realm:password)), upper-case hex (encryption "Default"). */
export function rpc2LoginHash(user: string, realm: string, random: string, password: string): string {
  const md5 = (text: string) => createHash("md5").update(text, "utf8").digest("hex").toUpperCase();
  return md5(`${user}:${random}:${md5(`${user}:${realm}:${password}`)}`);
}

export interface Rpc2Message {
  method: string;
  params?: unknown;
  id?: unknown;
  session?: unknown;
  object?: unknown;
}

/** A request body as a call, or undefined when it is not one (not JSON, no method name). */
export function parseRpc2(text: string): Rpc2Message | undefined {
  try {
    const value = JSON.parse(text) as unknown;
    if (!value || typeof value !== "object" || Array.isArray(value)) return undefined;
    const method = (value as { method?: unknown }).method;
    return typeof method === "string" && method.length <= 128 ? (value as Rpc2Message) : undefined;
  } catch {
    return undefined;
  }
}
