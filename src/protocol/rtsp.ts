/**
 * RTSP 1.0 messages (RFC 2326) and the interleaved `$` frames that share their TCP connection, for camgate's
 * client, server and the emulator alike. The reader tolerates what cameras and clients send: bare `\n` line
 * ends, continuation lines, header names in any case; it skips bytes that start neither a message nor a
 * frame until it finds one again (resync, as go2rtc's reader does after a camera's stray bytes). It is
 * bounded: a header block, a body and a frame each have a maximum size, and what exceeds one is an error.
 */

export class RtspError extends Error {
  readonly code = "bad-rtsp";
  constructor(message: string) {
    super(message);
    this.name = "RtspError";
  }
}

/** Headers by lower-case name; a repeated header keeps every value (WWW-Authenticate may offer several). */
export class RtspHeaders {
  private readonly values = new Map<string, string[]>();

  constructor(entries: Iterable<readonly [string, string]> = []) {
    for (const [name, value] of entries) this.add(name, value);
  }

  add(name: string, value: string): void {
    const key = name.toLowerCase();
    const list = this.values.get(key);
    if (list) list.push(value);
    else this.values.set(key, [value]);
  }

  get(name: string): string | undefined {
    return this.values.get(name.toLowerCase())?.[0];
  }

  all(name: string): string[] {
    return this.values.get(name.toLowerCase()) ?? [];
  }

  has(name: string): boolean {
    return this.values.has(name.toLowerCase());
  }
}

export interface RtspRequest {
  kind: "request";
  method: string;
  uri: string;
  version: string;
  headers: RtspHeaders;
  body: Buffer;
}

export interface RtspResponse {
  kind: "response";
  version: string;
  status: number;
  reason: string;
  headers: RtspHeaders;
  body: Buffer;
}

export interface InterleavedFrame {
  kind: "data";
  channel: number;
  payload: Buffer;
}

export type RtspItem = RtspRequest | RtspResponse | InterleavedFrame;

export interface RtspLimits {
  maxHeaderBytes: number;
  maxBodyBytes: number;
}

const DEFAULT_LIMITS: RtspLimits = { maxHeaderBytes: 16 * 1024, maxBodyBytes: 1024 * 1024 };

export const RTSP_METHODS = [
  "OPTIONS",
  "DESCRIBE",
  "ANNOUNCE",
  "SETUP",
  "PLAY",
  "PAUSE",
  "RECORD",
  "TEARDOWN",
  "GET_PARAMETER",
  "SET_PARAMETER",
  "REDIRECT",
] as const;

/** Whether a line holds a control character but horizontal tab (what it may not once split at its end). */
function hasControl(line: string): boolean {
  for (let i = 0; i < line.length; i++) {
    const code = line.charCodeAt(i);
    if ((code < 0x20 && code !== 0x09) || code === 0x7f) return true;
  }
  return false;
}

const START = new RegExp(`^(?:RTSP/\\d\\.\\d |(?:${RTSP_METHODS.join("|")}) )`);
const STARTS = ["RTSP/1.0 ", ...RTSP_METHODS.map((method) => `${method} `)];

/**
 * Whether `buffer` at `at` plausibly starts a message or a frame (what resync looks for). Bytes that end
 * before they can be judged (`RTS` at the end of what arrived) count as a start: more may follow.
 */
function startsItem(buffer: Buffer, at: number): boolean {
  const byte = buffer[at];
  if (byte === 0x24) return at + 1 >= buffer.length || (buffer[at + 1] as number) < 64;
  if (byte === undefined || byte < 0x41 || byte > 0x5a) return false;
  const text = buffer.subarray(at, at + 16).toString("latin1");
  if (START.test(text)) return true;
  return (
    at + text.length === buffer.length && text.length < 16 && STARTS.some((start) => start.startsWith(text))
  );
}

export class RtspReader {
  private buffer: Buffer = Buffer.alloc(0);
  /** Bytes skipped to find the next message or frame. */
  skipped = 0;
  private readonly limits: RtspLimits;

  constructor(limits: Partial<RtspLimits> = {}) {
    this.limits = { ...DEFAULT_LIMITS, ...limits };
  }

  /** Bytes held for a message or frame not yet complete. */
  get buffered(): number {
    return this.buffer.length;
  }

  /** Everything complete in what arrived so far; throws `RtspError` for what no camera or client may send. */
  push(chunk: Buffer): RtspItem[] {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    const items: RtspItem[] = [];
    for (;;) {
      const item = this.next();
      if (!item) break;
      items.push(item);
    }
    return items;
  }

  private next(): RtspItem | undefined {
    const buffer = this.buffer;
    if (buffer.length === 0) return undefined;
    if (buffer[0] === 0x24) {
      if (buffer.length < 4) return undefined;
      const channel = buffer[1] as number;
      const length = buffer.readUInt16BE(2);
      if (buffer.length < 4 + length) return undefined;
      this.buffer = buffer.subarray(4 + length);
      return { kind: "data", channel, payload: buffer.subarray(4, 4 + length) };
    }
    if (!startsItem(buffer, 0)) {
      // Not a message, not a frame: skip to where one starts (bounded by what has arrived).
      let at = 1;
      while (at < buffer.length && !startsItem(buffer, at)) at++;
      this.skipped += at;
      this.buffer = buffer.subarray(at);
      return this.next();
    }
    const end = headerEnd(buffer, this.limits.maxHeaderBytes);
    if (end === undefined) {
      if (buffer.length > this.limits.maxHeaderBytes)
        throw new RtspError(`an RTSP header block over ${this.limits.maxHeaderBytes} bytes`);
      return undefined;
    }
    // The block ends before its last line's `\n`; a `\r` before that belongs to the line end.
    const blockEnd = buffer[end.headers - 1] === 0x0d ? end.headers - 1 : end.headers;
    const lines = buffer.subarray(0, blockEnd).toString("latin1").split(/\r?\n/);
    // A CR that ends no line, a NUL or another control character inside a line is what no camera or client
    // sends (RFC 2326 §15: header values are TEXT); kept, it would reach whatever echoes the value (a CSeq
    // in an answer) with a line break in it. The message is refused whole.
    const bad = lines.findIndex(hasControl);
    if (bad >= 0) throw new RtspError(`a control character in line ${bad + 1} of an RTSP message`);
    const headers = new RtspHeaders();
    let last: [string, string] | undefined;
    const unfolded: [string, string][] = [];
    for (const line of lines.slice(1)) {
      if (line === "") continue;
      if ((line[0] === " " || line[0] === "\t") && last) {
        last[1] = `${last[1]} ${line.trim()}`;
        continue;
      }
      const colon = line.indexOf(":");
      if (colon <= 0) continue;
      last = [line.slice(0, colon).trim(), line.slice(colon + 1).trim()];
      unfolded.push(last);
    }
    for (const [name, value] of unfolded) headers.add(name, value);
    const lengthText = headers.get("content-length");
    const length = lengthText === undefined ? 0 : Number(lengthText);
    if (!Number.isInteger(length) || length < 0)
      throw new RtspError(`Content-Length ${JSON.stringify(lengthText)}`);
    if (length > this.limits.maxBodyBytes) throw new RtspError(`an RTSP body of ${length} bytes`);
    if (buffer.length < end.body + length) return undefined;
    const body = Buffer.from(buffer.subarray(end.body, end.body + length));
    this.buffer = buffer.subarray(end.body + length);
    const first = lines[0] ?? "";
    if (first.startsWith("RTSP/")) {
      const match = /^(RTSP\/\d\.\d) (\d{3})(?: (.*))?$/.exec(first);
      if (!match) throw new RtspError(`a status line ${JSON.stringify(first.slice(0, 80))}`);
      return {
        kind: "response",
        version: match[1] as string,
        status: Number(match[2]),
        reason: match[3] ?? "",
        headers,
        body,
      };
    }
    const match = /^([A-Z_]+) (\S+) (RTSP\/\d\.\d)$/.exec(first);
    if (!match) throw new RtspError(`a request line ${JSON.stringify(first.slice(0, 80))}`);
    return {
      kind: "request",
      method: match[1] as string,
      uri: match[2] as string,
      version: match[3] as string,
      headers,
      body,
    };
  }
}

/** Where the header block ends (`\r\n\r\n` or a bare `\n\n`), and where the body starts. */
function headerEnd(buffer: Buffer, limit: number): { headers: number; body: number } | undefined {
  const scan = Math.min(buffer.length, limit + 4);
  for (let i = 0; i < scan; i++) {
    if (buffer[i] !== 0x0a) continue;
    if (buffer[i + 1] === 0x0a) return { headers: i, body: i + 2 };
    if (buffer[i + 1] === 0x0d && buffer[i + 2] === 0x0a) return { headers: i, body: i + 3 };
  }
  return undefined;
}

function format(startLine: string, headers: readonly (readonly [string, string])[], body?: Buffer): Buffer {
  const lines = [startLine];
  for (const [name, value] of headers) {
    if (/[\r\n]/.test(name) || /[\r\n]/.test(value))
      throw new RtspError(`a header with a line break: ${name}`);
    lines.push(`${name}: ${value}`);
  }
  if (body && body.length > 0) lines.push(`Content-Length: ${body.length}`);
  const head = Buffer.from(`${lines.join("\r\n")}\r\n\r\n`, "latin1");
  return body && body.length > 0 ? Buffer.concat([head, body]) : head;
}

export function formatRequest(
  method: string,
  uri: string,
  headers: readonly (readonly [string, string])[],
  body?: Buffer,
): Buffer {
  if (/\s/.test(uri)) throw new RtspError("a request URI with white space");
  return format(`${method} ${uri} RTSP/1.0`, headers, body);
}

export function formatResponse(
  status: number,
  reason: string,
  headers: readonly (readonly [string, string])[],
  body?: Buffer,
): Buffer {
  return format(`RTSP/1.0 ${status} ${reason}`, headers, body);
}

/**
 * A CSeq as RFC 2326 §12.17 has it (1*DIGIT), as a number safe to echo; undefined for anything else, so an
 * answer never repeats what a peer wrote without it being checked first.
 */
export function parseCSeq(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d{1,9}$/.test(value)) return undefined;
  return Number(value);
}

/** The 4-byte header of an interleaved frame. */
export function interleavedHeader(channel: number, length: number): Buffer {
  if (length > 0xffff) throw new RtspError(`an interleaved frame of ${length} bytes`);
  const header = Buffer.alloc(4);
  header[0] = 0x24;
  header[1] = channel;
  header.writeUInt16BE(length, 2);
  return header;
}

export interface Transport {
  /** `RTP/AVP/TCP`, `RTP/AVP` (UDP), ... */
  protocol: string;
  interleaved: [number, number] | undefined;
  clientPort: [number, number] | undefined;
  ssrc: string | undefined;
  mode: string | undefined;
  unicast: boolean;
}

/** The first transport of a Transport header (clients may offer several, comma-separated). */
export function parseTransport(value: string): Transport {
  const [first = ""] = value.split(",");
  const parts = first.split(";").map((p) => p.trim());
  const pair = (text: string | undefined): [number, number] | undefined => {
    const match = /^(\d+)(?:-(\d+))?$/.exec(text ?? "");
    if (!match) return undefined;
    const a = Number(match[1]);
    return [a, match[2] === undefined ? a + 1 : Number(match[2])];
  };
  const parameter = (name: string) =>
    parts.find((p) => p.toLowerCase().startsWith(`${name}=`))?.slice(name.length + 1);
  return {
    protocol: (parts[0] ?? "").toUpperCase(),
    interleaved: pair(parameter("interleaved")),
    clientPort: pair(parameter("client_port")),
    ssrc: parameter("ssrc"),
    mode: parameter("mode")?.replace(/"/g, ""),
    unicast: parts.some((p) => p.toLowerCase() === "unicast"),
  };
}

/** `Session: 12345678;timeout=60` → the id and the timeout in seconds (60 when not given: RFC 2326). */
export function parseSession(value: string): { id: string; timeoutSeconds: number } {
  const [id = "", ...rest] = value.split(";").map((p) => p.trim());
  const timeout = rest.find((p) => p.toLowerCase().startsWith("timeout="));
  const seconds = timeout === undefined ? 60 : Number(timeout.slice(8));
  return { id, timeoutSeconds: Number.isFinite(seconds) && seconds > 0 ? seconds : 60 };
}
