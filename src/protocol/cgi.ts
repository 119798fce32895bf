/**
 * How a CGI answer is judged (reference §2.0): the status code alone lies, because firmware answers HTTP 200
 * with an `Error` body, and "unsupported" is 400 `Bad Request!` on older firmware and 501 `Not Implemented!`
 * on 2024 firmware.
 */

/** How a CGI answer failed: not supported, refused as a request, refused for the user, or unusable. */
export type CgiFailure = "unsupported" | "rejected" | "forbidden" | "bad-response";

export type CgiVerdict = { ok: true } | { ok: false; code: CgiFailure; detail: string };

/** Reads the first few hundred bytes of a body as text for classification. */
function head(body: Buffer | string): string {
  return (typeof body === "string" ? body.slice(0, 512) : body.subarray(0, 512).toString("utf8")).trim();
}

/** Judges a complete CGI answer (not 401: the session handles authentication first). */
export function classifyCgiResponse(status: number, body: Buffer | string): CgiVerdict {
  const text = head(body);
  const detail = text.replace(/\s+/g, " ").slice(0, 200);
  if (status === 403) return { ok: false, code: "forbidden", detail: detail || "403 Forbidden" };
  if (status === 400 || status === 404 || status === 501)
    return { ok: false, code: "unsupported", detail: detail || `HTTP ${status}` };
  if (status >= 500)
    return { ok: false, code: "bad-response", detail: `HTTP ${status}${detail ? `: ${detail}` : ""}` };
  if (status < 200 || status >= 300) return { ok: false, code: "bad-response", detail: `HTTP ${status}` };
  // A 200 whose body starts with "Error" failed (LTN6416 "Error: Error -1 getting param", python-amcrest
  // "Error\r\nErrorID=2, Detail=Invalid Request!"), even as the body of a binary download (aiodahua).
  if (/^error\b/i.test(text)) {
    // 200 + "Error\r\nBad Request!" is how some firmware says unsupported (loadfile with no recording).
    if (/bad request!|not implemented!/i.test(text)) return { ok: false, code: "unsupported", detail };
    return { ok: false, code: "rejected", detail };
  }
  return { ok: true };
}

/** Writes answer `OK` (usually `OK\r\n`); compared case-insensitively after trimming (rroller verify_ok). */
export function isOkBody(body: Buffer | string): boolean {
  return head(body).toUpperCase() === "OK";
}

/**
 * The query as the firmware reads it: percent-decoded as a whole *before* splitting on `&` and `=`
 * (NV4116-HS, aiodahua), so role decisions see the same actions and names the camera will act on. Every
 * pair is returned, in order: which occurrence of a repeated key a firmware uses is not known (many CGI
 * parsers take the last), so the caller must not pick one. A `%` that starts no valid escape stays as it is,
 * and bytes that are not UTF-8 become U+FFFD; nothing here throws.
 */
export function decodeDeviceQuery(rawQuery: string): [string, string][] {
  const decoded = decodeLoosely(rawQuery.replace(/\+/g, " "));
  const pairs: [string, string][] = [];
  for (const pair of decoded.split("&")) {
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    pairs.push(eq < 0 ? [pair, ""] : [pair.slice(0, eq), pair.slice(eq + 1)]);
  }
  return pairs;
}

function decodeLoosely(text: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 0x25 && /^[0-9A-Fa-f]{2}$/.test(text.slice(i + 1, i + 3))) {
      bytes.push(Number.parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (code < 0x80) {
      bytes.push(code);
    } else {
      const end = code >= 0xd800 && code <= 0xdbff ? i + 2 : i + 1;
      bytes.push(...Buffer.from(text.slice(i, end), "utf8"));
      i = end - 1;
    }
  }
  return Buffer.from(bytes).toString("utf8");
}
