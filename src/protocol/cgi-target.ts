/**
 * Request targets as the firmware needs them (reference §2.0): `/cgi-bin/<cgi>?key=value&...` with values
 * encoded so that the device's decode-then-split parser reads back exactly what was meant. Input that no
 * encoding can carry is refused with a typed `DeviceArgumentError` before anything is sent.
 */

/** Why a value or key cannot go to a camera. */
export type DeviceArgumentReason = "ampersand" | "control-character" | "unsafe-key";

export class DeviceArgumentError extends Error {
  readonly code = "invalid-argument";
  constructor(
    readonly reason: DeviceArgumentReason,
    message: string,
  ) {
    super(message);
    this.name = "DeviceArgumentError";
  }
}

/** Characters a config key may carry on the wire as is. */
const SAFE_KEY = /^[A-Za-z0-9_.[\]-]+$/;

// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point.
const CONTROL = /[\x00-\x1f\x7f]/;

/** Throws when no encoding can carry `value` to the camera; otherwise returns nothing. */
export function checkDeviceValue(value: string): void {
  // The firmware decodes the whole query before splitting it, so even `%26` splits the value (NV4116-HS).
  if (value.includes("&"))
    throw new DeviceArgumentError(
      "ampersand",
      `a camera cannot receive '&' in a value: ${JSON.stringify(value)}`,
    );
  // CR, LF and NUL would end or split the value (or the request line) on the device side.
  if (CONTROL.test(value))
    throw new DeviceArgumentError(
      "control-character",
      `a camera cannot receive control characters in a value: ${JSON.stringify(value)}`,
    );
}

/**
 * Encodes a query value the way the firmware needs it: spaces as `%20` (a raw space rejects the request),
 * and `#`, `+`, `%`, `=`, `/`, `'` percent-encoded.
 */
export function encodeDeviceValue(value: string): string {
  checkDeviceValue(value);
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

export function checkDeviceKey(key: string): void {
  if (!SAFE_KEY.test(key))
    throw new DeviceArgumentError("unsafe-key", `unsafe parameter name ${JSON.stringify(key)}`);
}

export function buildTarget(
  cgi: string,
  pairs: readonly (readonly [string, string | number | boolean])[],
): string {
  const query = pairs
    .map(([key, value]) => {
      checkDeviceKey(key);
      return `${key}=${encodeDeviceValue(String(value))}`;
    })
    .join("&");
  return `/cgi-bin/${cgi}${query ? `?${query}` : ""}`;
}
