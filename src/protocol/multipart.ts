/**
 * Incremental parser for `multipart/x-mixed-replace` as Dahua/Amcrest devices write it (event streams and
 * MJPEG). A part is delivered as soon as its `Content-Length` bytes are in, not when the next boundary
 * arrives: boundary-scanning parsers hand every event over one part late (up to a heartbeat period).
 *
 * Tolerates every framing variant of reference §2.7: `Content-Length:NN` without a space, any header case,
 * CRLFs before a boundary (the heartbeat framing), a boundary line with or without the leading `--`, the stray
 * `HTTP/1.1 200 OK` header block some firmware writes inside the body (IPC-HFW1320S-W, scrypted#1417), the
 * spec's parts with no blank line after the headers, and parts without (or with a broken) `Content-Length`,
 * which fall back to scanning for the next boundary. Memory is bounded: an over-long header block or part is
 * a `MultipartError`, never unbounded growth.
 */

export interface MultipartPart {
  /** Lowercased header names. */
  headers: Record<string, string>;
  /** The part's bytes; a view into the received chunk where the part lies in one chunk (no copy). */
  body: Buffer;
}

export class MultipartError extends Error {
  readonly code = "bad-multipart";
  constructor(message: string) {
    super(message);
    this.name = "MultipartError";
  }
}

export interface MultipartParserOptions {
  /** The boundary from `Content-Type` (with or without a leading `--`). */
  boundary: string;
  /** Largest header block (default 16 KiB). */
  maxHeaderBytes?: number;
  /** Largest part body (default 16 MiB). */
  maxPartBytes?: number;
}

type State = "seek" | "http-block" | "headers" | "body" | "scan";

const EMPTY = Buffer.alloc(0);
const LF = 0x0a;
const HEADER_LINE = /^([A-Za-z0-9-]+)[ \t]*:[ \t]*(.*)$/;

/** `multipart/x-mixed-replace; boundary="myboundary"` → `myboundary`. */
export function boundaryFromContentType(contentType: string | undefined): string | undefined {
  const match = /boundary\s*=\s*(?:"([^"]+)"|([^;\s]+))/i.exec(contentType ?? "");
  return match ? (match[1] ?? match[2]) : undefined;
}

export class MultipartParser {
  private readonly boundary: string;
  private readonly delimiter: string;
  private readonly scanNeedle: Buffer;
  private readonly maxHeaderBytes: number;
  private readonly maxPartBytes: number;
  private state: State = "seek";
  private pending: Buffer = EMPTY;
  private headers: Record<string, string> = {};
  private headerBytes = 0;
  private bodyLength = 0;
  private bodyChunks: Buffer[] = [];
  private bodyHave = 0;
  private scanFrom = 0;
  /** Lines between parts that were neither boundary nor part of a part (firmware noise). */
  skippedLines = 0;
  /** Stray `HTTP/1.1 200 OK` blocks skipped. */
  skippedHttpBlocks = 0;

  constructor(options: MultipartParserOptions) {
    this.boundary = options.boundary.replace(/^--/, "");
    if (this.boundary === "" || /[\r\n]/.test(this.boundary)) throw new MultipartError("invalid boundary");
    this.delimiter = `--${this.boundary}`;
    this.scanNeedle = Buffer.from(`\n--${this.boundary}`, "latin1");
    this.maxHeaderBytes = options.maxHeaderBytes ?? 16 * 1024;
    this.maxPartBytes = options.maxPartBytes ?? 16 * 1024 * 1024;
  }

  /** Feeds received bytes; returns the parts they completed, in order. */
  push(chunk: Buffer): MultipartPart[] {
    const parts: MultipartPart[] = [];
    const data = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = EMPTY;
    let pos = 0;
    for (;;) {
      if (this.state === "body") {
        const need = this.bodyLength - this.bodyHave;
        const available = data.length - pos;
        if (available < need) {
          if (available > 0) this.bodyChunks.push(data.subarray(pos));
          this.bodyHave += available;
          pos = data.length;
          break;
        }
        const tail = data.subarray(pos, pos + need);
        pos += need;
        const body = this.bodyChunks.length > 0 ? Buffer.concat([...this.bodyChunks, tail]) : tail;
        parts.push({ headers: this.headers, body });
        this.resetPart();
        continue;
      }
      if (this.state === "scan") {
        const found = data.indexOf(this.scanNeedle, Math.max(pos, this.scanFrom));
        if (found < 0) {
          if (data.length - pos > this.maxPartBytes)
            throw new MultipartError(`part without length over ${this.maxPartBytes} bytes`);
          this.scanFrom = Math.max(pos, data.length - this.scanNeedle.length);
          break;
        }
        parts.push({ headers: this.headers, body: trimTrailingNewlines(data.subarray(pos, found)) });
        pos = found + 1;
        this.resetPart();
        continue;
      }
      if (this.state === "seek") {
        while (pos < data.length && isSpace(data[pos] as number)) pos++;
        if (pos >= data.length) break;
      }
      const eol = data.indexOf(LF, pos);
      if (eol < 0) {
        if (data.length - pos > this.maxHeaderBytes)
          throw new MultipartError(`line over ${this.maxHeaderBytes} bytes`);
        break;
      }
      const lineStart = pos;
      const line = data.toString("latin1", pos, eol).replace(/\r$/, "");
      pos = eol + 1;
      if (this.state === "seek") {
        const trimmed = line.trim();
        if (trimmed === this.delimiter || trimmed === this.boundary) {
          this.state = "headers";
        } else if (trimmed === `${this.delimiter}--`) {
          // The closing delimiter: devices never send it, but a proxy might; nothing follows.
        } else if (/^HTTP\/\d/.test(trimmed)) {
          this.skippedHttpBlocks++;
          this.state = "http-block";
        } else {
          this.skippedLines++;
        }
        continue;
      }
      this.headerBytes += eol + 1 - lineStart;
      if (this.headerBytes > this.maxHeaderBytes)
        throw new MultipartError(`header block over ${this.maxHeaderBytes} bytes`);
      if (this.state === "http-block") {
        if (line === "") this.resetPart();
        continue;
      }
      // state === "headers"
      if (line === "") {
        this.startBody();
        continue;
      }
      const header = HEADER_LINE.exec(line);
      if (header) {
        this.headers[(header[1] as string).toLowerCase()] = (header[2] as string).trim();
        continue;
      }
      // The spec's example has no blank line: the body starts on the line after the headers.
      pos = lineStart;
      this.startBody();
    }
    if (pos < data.length) this.pending = data.subarray(pos);
    if (this.state === "scan") this.scanFrom -= pos;
    return parts;
  }

  private startBody(): void {
    const length = this.headers["content-length"];
    if (length !== undefined && /^\d{1,10}$/.test(length)) {
      const bodyLength = Number(length);
      if (bodyLength > this.maxPartBytes)
        throw new MultipartError(`part of ${bodyLength} bytes over ${this.maxPartBytes}`);
      this.bodyLength = bodyLength;
      this.bodyChunks = [];
      this.bodyHave = 0;
      this.state = "body";
    } else {
      this.scanFrom = 0;
      this.state = "scan";
    }
  }

  private resetPart(): void {
    this.state = "seek";
    this.headers = {};
    this.headerBytes = 0;
    this.bodyLength = 0;
    this.bodyChunks = [];
    this.bodyHave = 0;
    this.scanFrom = 0;
  }
}

function isSpace(byte: number): boolean {
  return byte === 0x0d || byte === 0x0a || byte === 0x20 || byte === 0x09;
}

function trimTrailingNewlines(body: Buffer): Buffer {
  let end = body.length;
  while (end > 0 && (body[end - 1] === 0x0a || body[end - 1] === 0x0d)) end--;
  return body.subarray(0, end);
}

/**
 * One part's header block in the cameras' framing (`--myboundary`, `Content-Length: n`), for writers that
 * must look like a camera to existing clients.
 */
export function formatPartHeader(boundary: string, contentType: string, length: number): Buffer {
  return Buffer.from(
    `--${boundary.replace(/^--/, "")}\r\nContent-Type: ${contentType}\r\nContent-Length: ${length}\r\n\r\n`,
    "latin1",
  );
}
