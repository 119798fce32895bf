/**
 * A camera config as it goes into git: keys in a stable order, 2-space JSON, a trailing newline, and secrets
 * replaced by a fixed marker (so redaction alone never makes a diff). Redacted by default: passwords, keys,
 * tokens, Wi-Fi keys, and SMTP/DDNS/P2P credentials, by the paths and name patterns below.
 */
import type { JsonObject, JsonValue } from "../protocol/kv.ts";

export const REDACTED = "***redacted by camgate***";

/** Leaf names that hold secrets wherever they appear (Email.Password, DDNS[0].Password, WLan.*.Keys, ...). */
export const SECRET_NAME =
  /^(password|passwd|pwd|passphrase|secret|token|key|keys|psk|privatekey|authcode|apikey|accesskey|secretkey|wpakey|wepkey)$/i;
/** Whole sections whose credentials are not named like secrets (P2P ids, user databases). */
export const SECRET_PATHS = [
  /^T2UServer\.(Account|UUID|SerialNumber)$/,
  /^UserGlobal\./,
  /^RemoteDevice\./,
  /^Onvif\.Users/,
];

export function isSecretPath(path: string): boolean {
  const leaf =
    path
      .replace(/\[\d+\]/g, "")
      .split(".")
      .pop() ?? "";
  return SECRET_NAME.test(leaf) || SECRET_PATHS.some((pattern) => pattern.test(path));
}

function sortKeys(value: JsonValue): JsonValue {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === "object") {
    const sorted: JsonObject = {};
    for (const key of Object.keys(value).sort()) sorted[key] = sortKeys(value[key] as JsonValue);
    return sorted;
  }
  return value;
}

function redact(value: JsonValue, path: string): JsonValue {
  if (Array.isArray(value)) {
    if (isSecretPath(path)) return value.map(() => REDACTED);
    return value.map((item, i) => redact(item, `${path}[${i}]`));
  }
  if (value !== null && typeof value === "object") {
    const out: JsonObject = {};
    for (const [key, child] of Object.entries(value)) out[key] = redact(child, path ? `${path}.${key}` : key);
    return out;
  }
  if (isSecretPath(path) && value !== "" && value !== null) return REDACTED;
  return value;
}

export function normaliseConfig(config: JsonObject, options: { redact: boolean }): string {
  const tree = options.redact ? redact(config, "") : config;
  return `${JSON.stringify(sortKeys(tree), null, 2)}\n`;
}
