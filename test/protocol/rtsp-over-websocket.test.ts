/**
 * RTSP over a WebSocket in the framing of Dahua's web player: whatever way camgate's RTSP bytes are cut, the
 * messages carry the same responses and frames in order, a response alone in its message, a frame never
 * split; and anything else is refused with an RtspError, never another exception, with bounded buffering.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatResponse, interleavedHeader, RtspError } from "../../src/protocol/rtsp.ts";
import {
  DahuaWebSocketFramer,
  type DahuaWebSocketItem,
  readDahuaWebSocketMessage,
} from "../../src/protocol/rtsp-over-websocket.ts";

type Item =
  | { kind: "response"; status: number; body: string }
  | { kind: "frame"; channel: number; payload: Buffer };

const item: fc.Arbitrary<Item> = fc.oneof(
  fc.record({
    kind: fc.constant("response" as const),
    status: fc.constantFrom(200, 401, 404, 454),
    body: fc.oneof(fc.constant(""), fc.string({ maxLength: 300 })),
  }),
  fc.record({
    kind: fc.constant("frame" as const),
    channel: fc.integer({ min: 0, max: 3 }),
    payload: fc.uint8Array({ maxLength: 2000 }).map((bytes) => Buffer.from(bytes)),
  }),
);

function serialise(items: Item[]): Buffer {
  return Buffer.concat(
    items.map((one) =>
      one.kind === "frame"
        ? Buffer.concat([interleavedHeader(one.channel, one.payload.length), one.payload])
        : formatResponse(
            one.status,
            "Reason",
            [["CSeq", "1"]],
            one.body === "" ? undefined : Buffer.from(one.body, "latin1"),
          ),
    ),
  );
}

function cutAt(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const pieces: Buffer[] = [];
  let from = 0;
  for (const point of points) {
    pieces.push(bytes.subarray(from, point));
    from = point;
  }
  pieces.push(bytes.subarray(from));
  return pieces;
}

describe("Dahua's RTSP over WebSocket framing", () => {
  it("carries every response and frame in order, however camgate's bytes are cut", () => {
    fc.assert(
      fc.property(fc.array(item, { maxLength: 12 }), fc.array(fc.nat(), { maxLength: 8 }), (items, cuts) => {
        const framer = new DahuaWebSocketFramer();
        const messages = cutAt(serialise(items), cuts).flatMap((piece) => framer.push(piece));
        expect(framer.buffered).toBe(0);
        const read: DahuaWebSocketItem[] = messages.flatMap((message) => {
          const inMessage = readDahuaWebSocketMessage(message);
          // A response is alone in its message: the player cuts it 2 bytes past its end.
          if (inMessage.some((one) => one.kind === "response")) expect(inMessage).toHaveLength(1);
          return inMessage;
        });
        expect(read).toHaveLength(items.length);
        read.forEach((got, index) => {
          const sent = items[index] as Item;
          expect(got.kind).toBe(sent.kind);
          if (got.kind === "frame" && sent.kind === "frame") {
            expect(got.channel).toBe(sent.channel);
            expect(got.payload.equals(sent.payload)).toBe(true);
          }
          if (got.kind === "response" && sent.kind === "response") {
            expect(got.text.startsWith(`RTSP/1.0 ${sent.status} `)).toBe(true);
            expect(got.text.endsWith(`\r\n\r\n${sent.body}`)).toBe(true);
          }
        });
      }),
    );
  });

  it("writes a frame's length in 32 bits after `$` and the channel, as the player reads it", () => {
    const payload = Buffer.alloc(300, 7);
    const [message] = new DahuaWebSocketFramer().push(
      Buffer.concat([interleavedHeader(2, payload.length), payload]),
    );
    expect(message?.subarray(0, 6)).toEqual(Buffer.from([0x24, 2, 0, 0, 1, 44]));
    expect(message?.length).toBe(306);
  });

  it("refuses what is neither a response nor a frame with an RtspError, keeping little", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 4096 }), { maxLength: 200 }), (chunks) => {
        const framer = new DahuaWebSocketFramer();
        try {
          for (const chunk of chunks) {
            framer.push(Buffer.from(chunk));
            expect(framer.buffered).toBeLessThanOrEqual(256 * 1024 + 4096);
          }
        } catch (error) {
          expect(error).toBeInstanceOf(RtspError);
        }
      }),
    );
    expect(() => new DahuaWebSocketFramer().push(Buffer.from("GET / HTTP/1.1\r\n\r\n"))).toThrow(RtspError);
    expect(() => new DahuaWebSocketFramer().push(Buffer.alloc(300 * 1024, 0x41))).toThrow(RtspError);
  });

  it("reads only what the player could read", () => {
    expect(() => readDahuaWebSocketMessage(Buffer.from([0x24, 0, 0, 0, 0, 9, 1]))).toThrow(RtspError);
    expect(() => readDahuaWebSocketMessage(Buffer.from("HTTP/1.1 200 OK\r\n\r\n"))).toThrow(RtspError);
  });
});
