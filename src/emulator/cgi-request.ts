/**
 * What a CGI handler of the emulator receives, and the answers devices give (reference §2.0): `key=value\r\n`
 * bodies as `text/plain;charset=utf-8`, `OK\r\n` for writes, and the firmware's own error shapes.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { formatKvLines, type KvEntry } from "../protocol/kv.ts";
import type { EmulatedCamera } from "./camera.ts";
import type { ErrorStyle } from "./profiles.ts";

export interface CgiRequest {
  req: IncomingMessage;
  res: ServerResponse;
  /** `/cgi-bin/ptz.cgi` */
  path: string;
  action: string | undefined;
  /** Query pairs in order, decoded the way the firmware decodes them (see parseDeviceQuery). */
  entries: [string, string][];
  params: Map<string, string>;
}

export type CameraHandler = (camera: EmulatedCamera, request: CgiRequest) => void | Promise<void>;

/**
 * The firmware percent-decodes the whole query *before* splitting on `&` and `=`, so an encoded `&` in a value
 * still splits it (NV4116-HS, aiodahua README); a raw `+` arrives as a space, which is why clients must encode
 * `+` as `%2B`.
 */
export function parseDeviceQuery(rawQuery: string): [string, string][] {
  const decoded = percentDecode(rawQuery.replace(/\+/g, " "));
  const entries: [string, string][] = [];
  for (const pair of decoded.split("&")) {
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    entries.push(eq < 0 ? [pair, ""] : [pair.slice(0, eq), pair.slice(eq + 1)]);
  }
  return entries;
}

/** Decodes %XX sequences as UTF-8 and leaves malformed ones as they are (devices do not reject them). */
export function percentDecode(text: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (ch === "%" && /^[0-9A-Fa-f]{2}$/.test(text.slice(i + 1, i + 3))) {
      bytes.push(Number.parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      for (const byte of Buffer.from(ch, "utf8")) bytes.push(byte);
    }
  }
  return Buffer.from(bytes).toString("utf8");
}

const TEXT = "text/plain;charset=utf-8";

export function replyBody(
  res: ServerResponse,
  status: number,
  body: string | Buffer,
  contentType = TEXT,
): void {
  if (res.headersSent || res.destroyed) return;
  const payload = typeof body === "string" ? Buffer.from(body, "utf8") : body;
  res.writeHead(status, {
    "Content-Type": contentType,
    "Content-Length": payload.length,
    // Every answer closes the connection, 401s included (NVR5464 over HTTPS, rroller/dahua PR #597).
    Connection: "close",
  });
  res.end(payload);
}

export function replyKv(res: ServerResponse, entries: Iterable<KvEntry>): void {
  replyBody(res, 200, formatKvLines(entries));
}

export function replyOk(res: ServerResponse): void {
  replyBody(res, 200, "OK\r\n");
}

/** An unknown CGI, action or config name, in the firmware's style. */
export function replyUnsupported(res: ServerResponse, style: ErrorStyle): void {
  if (style === "not-implemented") replyBody(res, 501, "Error\r\nNot Implemented!\r\n");
  else replyBody(res, 400, "Error\r\nBad Request!\r\n");
}

/** "Fits the syntax but fails while handling it": HTTP 200 with an Error body (python-amcrest test_media). */
export function replyRejected(res: ServerResponse, detail = "Invalid Request!"): void {
  replyBody(res, 200, `Error\r\nErrorID=2, Detail=${detail}\r\n\r\n`);
}

export function intParam(params: Map<string, string>, name: string, fallback: number): number {
  const raw = params.get(name);
  if (raw === undefined || raw.trim() === "") return fallback;
  const value = Number(raw);
  return Number.isFinite(value) ? value : fallback;
}
