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
 *
 * Real firmware's framings (issue 27; test/fixtures/real-world/): a blank after the boundary's dashes
 * (`-- myboundary`, Amcrest firmware of 2016, as Scrypted's Amcrest plugin notes), and a declared length that
 * does not match its part: a body that holds the boundary was declared too long (the part ends there, and
 * what follows the boundary is parsed again), and a body followed by more text than a line end was declared
 * too short (the part goes on to the next boundary). Both are bounded by the part limit.
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

/** A boundary line: `--myboundary`, `-- myboundary` (blanks after the dashes), or the bare boundary. */
function isBoundaryLine(trimmed: string, boundary: string): boolean {
  if (trimmed === boundary) return true;
  return trimmed.startsWith("--") && trimmed.slice(2).trimStart() === boundary;
}

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
  /** Where a boundary line starts, in either spelling (`\n--b`, `\n-- b`). */
  private readonly scanNeedles: Buffer[];
  /** A length-delimited body that turned out shorter than its part: the start of the part being scanned. */
  private scanPrefix: Buffer = EMPTY;
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
  /** Parts whose declared Content-Length did not match them (found by where the boundary was). */
  lengthMismatches = 0;

  constructor(options: MultipartParserOptions) {
    this.boundary = options.boundary.replace(/^--/, "");
    if (this.boundary === "" || /[\r\n]/.test(this.boundary)) throw new MultipartError("invalid boundary");
    this.delimiter = `--${this.boundary}`;
    this.scanNeedles = [
      Buffer.from(`\n--${this.boundary}`, "latin1"),
      Buffer.from(`\n-- ${this.boundary}`, "latin1"),
    ];
    this.maxHeaderBytes = options.maxHeaderBytes ?? 16 * 1024;
    this.maxPartBytes = options.maxPartBytes ?? 16 * 1024 * 1024;
  }

  /** The first boundary line in `data` from `from`, in either spelling (-1 when none). */
  private findBoundary(data: Buffer, from: number): number {
    let found = -1;
    for (const needle of this.scanNeedles) {
      const at = data.indexOf(needle, from);
      if (at >= 0 && (found < 0 || at < found)) found = at;
    }
    return found;
  }

  /** Feeds received bytes; returns the parts they completed, in order. */
  push(chunk: Buffer): MultipartPart[] {
    const parts: MultipartPart[] = [];
    let data = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
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
        // Declared too long: the body holds the next boundary. The part ends there; the rest is read again.
        // Looked for in text parts only (event bodies): a JPEG of the MJPEG relay is not scanned per frame.
        const text = !(this.headers["content-type"] ?? "").toLowerCase().startsWith("image/");
        const inside = text ? this.findBoundary(body, 0) : -1;
        if (inside >= 0) {
          parts.push({ headers: this.headers, body: trimTrailingNewlines(body.subarray(0, inside)) });
          this.lengthMismatches++;
          data = Buffer.concat([body.subarray(inside + 1), data.subarray(pos)]);
          pos = 0;
          this.resetPart();
          continue;
        }
        // Declared too short: more than a line end follows at once. The part goes on to the next boundary.
        const next = data[pos];
        if (next !== undefined && next !== 0x0d && next !== 0x0a && next !== 0x2d) {
          this.lengthMismatches++;
          this.scanPrefix = Buffer.from(body);
          this.scanFrom = pos;
          this.state = "scan";
          continue;
        }
        parts.push({ headers: this.headers, body });
        this.resetPart();
        continue;
      }
      if (this.state === "scan") {
        const found = this.findBoundary(data, Math.max(pos, this.scanFrom));
        if (found < 0) {
          if (data.length - pos + this.scanPrefix.length > this.maxPartBytes)
            throw new MultipartError(`part without length over ${this.maxPartBytes} bytes`);
          this.scanFrom = Math.max(pos, data.length - (this.boundary.length + 4));
          break;
        }
        const rest = data.subarray(pos, found);
        const body = this.scanPrefix.length > 0 ? Buffer.concat([this.scanPrefix, rest]) : rest;
        parts.push({ headers: this.headers, body: trimTrailingNewlines(body) });
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
        if (isBoundaryLine(trimmed, this.boundary)) {
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
    this.scanPrefix = EMPTY;
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
