/**
 * Decoding a camera's picture for motion detection: shrunk on load to the asked width, grey as luma; a
 * header claiming more pixels than an 8K sensor has is refused before anything is decoded; whatever bytes
 * a camera sends (a JPEG cut or damaged anywhere, or anything else) give a picture of the asked size or a
 * refusal, never a throw outside the promise (fuzzed).
 */
import fc from "fast-check";
import sharp from "sharp";
import { beforeAll, describe, expect, it } from "vitest";
import { decodeGrey, lumaOf } from "../../src/events/software-motion.ts";

let jpeg: Buffer;

beforeAll(async () => {
  jpeg = await sharp({
    create: { width: 640, height: 480, channels: 3, background: { r: 200, g: 100, b: 50 } },
  })
    .jpeg({ quality: 90 })
    .toBuffer();
});

describe("decoding for motion detection", () => {
  it("shrinks to the asked width, keeps the shape, and makes Rec. 601 luma", async () => {
    const picture = await decodeGrey(jpeg, 160);
    expect([picture.width, picture.height]).toEqual([160, 120]);
    const expected = (200 * 77 + 100 * 150 + 50 * 29) >> 8;
    const values = [...picture.grey];
    expect(Math.min(...values)).toBeGreaterThanOrEqual(expected - 3);
    expect(Math.max(...values)).toBeLessThanOrEqual(expected + 3);
    expect(lumaOf(new Uint8Array([7, 7]), 1)).toEqual(new Uint8Array([7, 7]));
  });

  it("refuses a header that claims a 30000x30000 picture, and bytes that are no picture", async () => {
    const at = jpeg.indexOf(Buffer.from([0xff, 0xc0]));
    const bomb = Buffer.from(jpeg);
    bomb.writeUInt16BE(30_000, at + 5);
    bomb.writeUInt16BE(30_000, at + 7);
    await expect(decodeGrey(bomb, 160)).rejects.toThrow(/pixel limit/);
    await expect(decodeGrey(Buffer.from("--myboundary\r\n"), 160)).rejects.toThrow();
  });

  it("any cut or damage gives the asked size or a refusal (fuzz)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 20_000 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
        async (cut, damage) => {
          const bytes = Buffer.from(jpeg.subarray(0, Math.min(jpeg.length, 2 + cut)));
          for (const [at, value] of damage) bytes[at % bytes.length] = value;
          const outcome = await decodeGrey(bytes, 160).then(
            (picture) => picture,
            () => undefined,
          );
          if (outcome) expect(outcome.grey.length).toBe(outcome.width * outcome.height);
        },
      ),
      { numRuns: 200 },
    );
  });
});
