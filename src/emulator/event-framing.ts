/**
 * Byte-exact event stream parts as the firmware families write them (reference §2.7). The emulator keeps its
 * own writer rather than the gateway's multipart code, so that a framing bug cannot hide on both sides.
 */
import type { JsonObject, JsonValue } from "../protocol/kv.ts";
import type { EventFraming } from "./profiles.ts";

export type EventData = JsonObject;
export type EventDataValue = JsonValue;

export interface CameraEvent {
  code: string;
  action: "Start" | "Stop" | "Pulse" | "State";
  index: number;
  /** JSON data; `null` is written literally as `data=null` (AudioMutation Stop, bcpearce fixture). */
  data?: EventData | null;
}

export const BOUNDARY = "myboundary";

/** The headers of the attach answer, as the spec quotes them (qna.habr.com/q/1338700). */
export const EVENT_STREAM_HEADERS: Readonly<Record<string, string>> = {
  "Cache-Control": "no-cache",
  Pragma: "no-cache",
  Expires: "Thu, 01 Dec 2099 16:00:00 GMT",
  Connection: "close",
  "Content-Type": `multipart/x-mixed-replace; boundary=${BOUNDARY}`,
};

/** jsoncpp StyledWriter: 3-space indent, ` : ` separators, short scalar arrays on one line as `[ 0 ]`. */
export function styledJson(value: EventDataValue, indent = ""): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  const inner = `${indent}   `;
  if (Array.isArray(value)) {
    if (value.length === 0) return "[]";
    if (value.every((v) => v === null || typeof v !== "object")) {
      return `[ ${value.map((v) => JSON.stringify(v)).join(", ")} ]`;
    }
    return `[\n${value.map((v) => `${inner}${styledJson(v, inner)}`).join(",\n")}\n${indent}]`;
  }
  const entries = Object.entries(value);
  if (entries.length === 0) return "{}";
  return `{\n${entries.map(([k, v]) => `${inner}${JSON.stringify(k)} : ${styledJson(v, inner)}`).join(",\n")}\n${indent}}`;
}

/** cJSON formatted output: tab indent, `"key":\tvalue`, arrays on one line as `[0, 1]`. */
export function tabbedJson(value: EventDataValue, indent = ""): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  const inner = `${indent}\t`;
  if (Array.isArray(value)) {
    return `[${value.map((v) => tabbedJson(v, indent)).join(", ")}]`;
  }
  const entries = Object.entries(value);
  if (entries.length === 0) return "{\n}";
  return `{\n${entries.map(([k, v]) => `${inner}${JSON.stringify(k)}:\t${tabbedJson(v, inner)}`).join(",\n")}\n${indent}}`;
}

/** The part body, e.g. `Code=VideoMotion;action=Start;index=0;data={...}\n`. */
export function eventBody(event: CameraEvent, framing: EventFraming): string {
  const head = `Code=${event.code};action=${event.action};index=${event.index}`;
  if (framing === "plain-2016" || event.data === undefined) return head;
  if (event.data === null) return `${head};data=null`;
  if (framing === "cjson-2023") return `${head};data=${tabbedJson(event.data)}\n`;
  return `${head};data=${styledJson(event.data)}\n`;
}

/** One complete part of the event stream for this framing. */
export function eventPart(event: CameraEvent, framing: EventFraming): Buffer {
  const body = eventBody(event, framing);
  const bytes = Buffer.byteLength(body);
  if (framing === "cjson-2023") {
    // 2023 firmware writes a space after the colon and does not count the body's final "\n" (ipcmanview).
    const counted = body.endsWith("\n") ? bytes - 1 : bytes;
    return Buffer.from(
      `--${BOUNDARY}\r\nContent-Type: text/plain\r\nContent-Length: ${counted}\r\n\r\n${body}\r\n\r\n`,
    );
  }
  // 2016 Amcrest and 2019-2022 Dahua: no space after the colon, the length counts every body byte.
  return Buffer.from(
    `--${BOUNDARY}\r\nContent-Type: text/plain\r\nContent-Length:${bytes}\r\n\r\n${body}\r\n\r\n`,
  );
}

/**
 * The heartbeat: the CRLF comes before the boundary and nothing follows the body (2019 Dahua capture,
 * scottlamb/multipart-stream-rs `dahua_heartbeat`).
 */
export function heartbeatPart(framing: EventFraming): Buffer {
  const colon = framing === "cjson-2023" ? ": " : ":";
  return Buffer.from(
    `\r\n--${BOUNDARY}\r\nContent-Type: text/plain\r\nContent-Length${colon}9\r\n\r\nHeartbeat`,
  );
}

/**
 * A part some Dahua firmware emits by mistake (IPC-HFW1320S-W, koush/scrypted#1417): an `HTTP/1.1 200 OK`
 * header block inside the multipart body. Used by the malformed-part fault together with a part whose
 * Content-Length is not a number, so a parser has to fall back to the boundary.
 */
export function malformedParts(framing: EventFraming): Buffer {
  const colon = framing === "cjson-2023" ? ": " : ":";
  return Buffer.from(
    `HTTP/1.1 200 OK\r\nContent-Type: multipart/x-mixed-replace; boundary=${BOUNDARY}\r\n\r\n` +
      `--${BOUNDARY}\r\nContent-Type: text/plain\r\nContent-Length${colon}x9\r\n\r\nCode=Garbage;act\r\n`,
  );
}

/** The MJPEG part framing of mjpg/video.cgi (reference §2.5). */
export function jpegPartHeader(length: number): Buffer {
  return Buffer.from(`--${BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: ${length}\r\n\r\n`);
}
