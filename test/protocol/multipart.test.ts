import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  boundaryFromContentType,
  MultipartError,
  MultipartParser,
  type MultipartPart,
} from "../../src/protocol/multipart.ts";

const text = (parts: MultipartPart[]) => parts.map((p) => p.body.toString("latin1"));

function parseAll(bytes: Buffer | string, chunkSizes?: number[]): MultipartPart[] {
  const parser = new MultipartParser({ boundary: "myboundary" });
  const buffer = typeof bytes === "string" ? Buffer.from(bytes, "latin1") : bytes;
  if (!chunkSizes) return parser.push(buffer);
  const parts: MultipartPart[] = [];
  let pos = 0;
  for (const size of chunkSizes) {
    parts.push(...parser.push(buffer.subarray(pos, pos + size)));
    pos += size;
  }
  parts.push(...parser.push(buffer.subarray(pos)));
  return parts;
}

// Framings from reference/dahua-cgi.md §2.7, byte for byte.
const DAHUA_2019 =
  "--myboundary\r\nContent-Type: text/plain\r\nContent-Length:135\r\n\r\n" +
  'Code=TimeChange;action=Pulse;index=0;data={\n   "BeforeModifyTime" : "2019-02-20 13:49:58",\n   "ModifiedTime" : "2019-02-20 13:49:58"\n}\n' +
  "\r\n\r\n";
const HEARTBEAT = "\r\n--myboundary\r\nContent-Type: text/plain\r\nContent-Length:9\r\n\r\nHeartbeat";
const AMCREST_2016 =
  "--myboundary\r\nContent-Type: text/plain\r\nContent-Length:37\r\n\r\nCode=VideoMotion;action=Start;index=0\r\n\r\n";
const CAMERA_2023 = (body: string) =>
  `--myboundary\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body) - 1}\r\n\r\n${body}\r\n\r\n`;
const SPEC_EXAMPLE =
  "--myboundary\r\nContent-Type: text/plain\r\nContent-Length: 39\r\nCode=VideoMotion;action=Start;index=0\r\n\r\n";

describe("multipart parser: framings seen on devices", () => {
  it("reads the 2019 Dahua part and a heartbeat that starts the stream with CRLF", () => {
    const parts = parseAll(HEARTBEAT + DAHUA_2019 + HEARTBEAT);
    expect(text(parts)).toEqual(["Heartbeat", DAHUA_2019.slice(62, 62 + 135), "Heartbeat"]);
    expect(parts[1]?.headers).toEqual({ "content-type": "text/plain", "content-length": "135" });
  });

  it("delivers a part as soon as its Content-Length bytes are in, before the next boundary", () => {
    const parser = new MultipartParser({ boundary: "myboundary" });
    expect(text(parser.push(Buffer.from(HEARTBEAT)))).toEqual(["Heartbeat"]);
    expect(text(parser.push(Buffer.from(AMCREST_2016.slice(0, -4))))).toEqual([
      "Code=VideoMotion;action=Start;index=0",
    ]);
  });

  it("reads the 2023 framing (space, length without the final \\n) and the 2016 one", () => {
    const body = 'Code=VideoMotion;action=Start;index=0;data={\n\t"UTC":\t1691815050\n}\n';
    expect(text(parseAll(CAMERA_2023(body) + AMCREST_2016))).toEqual([
      body.slice(0, -1),
      "Code=VideoMotion;action=Start;index=0",
    ]);
  });

  it("reads the spec's example, which has no blank line after the headers (length counts the CRLF)", () => {
    expect(text(parseAll(SPEC_EXAMPLE))).toEqual(["Code=VideoMotion;action=Start;index=0\r\n"]);
  });

  it("accepts any header case and a boundary without the leading --", () => {
    const stream = "myboundary\r\ncontent-type: image/jpeg\r\nCONTENT-LENGTH: 3\r\n\r\nabc\r\n";
    const parts = parseAll(stream);
    expect(text(parts)).toEqual(["abc"]);
    expect(parts[0]?.headers["content-type"]).toBe("image/jpeg");
  });

  it("skips a stray HTTP/1.1 200 OK block inside the body (IPC-HFW1320S-W) and garbage lines", () => {
    const stray = "HTTP/1.1 200 OK\r\nContent-Type: multipart/x-mixed-replace; boundary=myboundary\r\n\r\n";
    const parser = new MultipartParser({ boundary: "myboundary" });
    const parts = parser.push(Buffer.from(`${AMCREST_2016}${stray}junk line\r\n${AMCREST_2016}`));
    expect(parts).toHaveLength(2);
    expect(parser.skippedHttpBlocks).toBe(1);
    expect(parser.skippedLines).toBe(1);
  });

  it("falls back to the boundary for parts without or with a broken Content-Length", () => {
    const stream =
      "--myboundary\r\nContent-Type: text/plain\r\n\r\nCode=A;action=Start;index=0\r\n\r\n" +
      "--myboundary\r\nContent-Type: text/plain\r\nContent-Length:x9\r\n\r\nCode=Garbage;act\r\n" +
      AMCREST_2016;
    expect(text(parseAll(stream, [7, 30, 5, 60]))).toEqual([
      "Code=A;action=Start;index=0",
      "Code=Garbage;act",
      "Code=VideoMotion;action=Start;index=0",
    ]);
  });

  it("bounds memory: an endless header line or an oversized part is an error", () => {
    const small = new MultipartParser({ boundary: "b", maxHeaderBytes: 64, maxPartBytes: 100 });
    expect(() => small.push(Buffer.from(`--b\r\nX-Long: ${"a".repeat(100)}`))).toThrow(MultipartError);
    const big = new MultipartParser({ boundary: "b", maxPartBytes: 100 });
    expect(() => big.push(Buffer.from("--b\r\nContent-Length: 101\r\n\r\n"))).toThrow(MultipartError);
    const unbounded = new MultipartParser({ boundary: "b", maxPartBytes: 100 });
    expect(() => unbounded.push(Buffer.from(`--b\r\nContent-Type: x\r\n\r\n${"z".repeat(200)}`))).toThrow(
      MultipartError,
    );
  });

  it("reads the boundary from Content-Type, quoted or not", () => {
    expect(boundaryFromContentType("multipart/x-mixed-replace; boundary=myboundary")).toBe("myboundary");
    expect(boundaryFromContentType('multipart/x-mixed-replace;boundary="--abc"')).toBe("--abc");
    expect(boundaryFromContentType("text/plain")).toBeUndefined();
  });
});

describe("multipart parser: properties", () => {
  const body = fc.uint8Array({ minLength: 0, maxLength: 300 }).map((a) => Buffer.from(a));
  const framing = fc.constantFrom("jpeg", "event-2019", "event-2023", "heartbeat");
  const part = fc.tuple(framing, body);

  function encode([kind, payload]: [string, Buffer]): { bytes: Buffer; expected: Buffer } {
    switch (kind) {
      case "heartbeat":
        return { bytes: Buffer.from(HEARTBEAT), expected: Buffer.from("Heartbeat") };
      case "event-2019":
        return {
          bytes: Buffer.concat([
            Buffer.from(
              `--myboundary\r\nContent-Type: text/plain\r\nContent-Length:${payload.length}\r\n\r\n`,
            ),
            payload,
            Buffer.from("\r\n\r\n"),
          ]),
          expected: payload,
        };
      case "event-2023":
        return {
          bytes: Buffer.concat([
            Buffer.from(
              `--myboundary\r\nContent-Type: text/plain\r\nContent-Length: ${payload.length}\r\n\r\n`,
            ),
            payload,
            Buffer.from("\n\r\n\r\n"),
          ]),
          expected: payload,
        };
      default:
        return {
          bytes: Buffer.concat([
            Buffer.from(
              `--myboundary\r\nContent-Type: image/jpeg\r\nContent-Length: ${payload.length}\r\n\r\n`,
            ),
            payload,
            Buffer.from("\r\n"),
          ]),
          expected: payload,
        };
    }
  }

  it("any chunking of a valid stream gives the same parts", () => {
    fc.assert(
      fc.property(
        fc.array(part, { minLength: 1, maxLength: 8 }),
        fc.array(fc.integer({ min: 1, max: 97 }), { maxLength: 40 }),
        (items, sizes) => {
          const encoded = items.map(encode);
          const stream = Buffer.concat(encoded.map((e) => e.bytes));
          const parts = parseAll(stream, sizes);
          expect(parts.map((p) => p.body.toString("hex"))).toEqual(
            encoded.map((e) => e.expected.toString("hex")),
          );
        },
      ),
      { numRuns: 500 },
    );
  });

  it("garbage never throws anything but MultipartError, at any chunking", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 2000 }),
        fc.array(fc.integer({ min: 1, max: 300 }), { maxLength: 10 }),
        (bytes, sizes) => {
          const parser = new MultipartParser({
            boundary: "myboundary",
            maxHeaderBytes: 256,
            maxPartBytes: 1024,
          });
          try {
            let pos = 0;
            for (const size of [...sizes, bytes.length]) {
              parser.push(Buffer.from(bytes.subarray(pos, pos + size)));
              pos += size;
            }
          } catch (error) {
            expect(error).toBeInstanceOf(MultipartError);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });
});
