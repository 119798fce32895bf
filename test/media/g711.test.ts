import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  alawToLinear,
  decodeG711,
  encodeG711,
  linearToAlaw,
  linearToUlaw,
  ulawToLinear,
} from "../../src/media/g711.ts";

describe("G.711", () => {
  it("has the standard's fixed points (silence, the extremes)", () => {
    // A-law silence is 0xD5 (positive zero) and 0x55 (negative zero); µ-law silence is 0xFF.
    expect(linearToAlaw(0)).toBe(0xd5);
    expect(linearToAlaw(-1)).toBe(0x55);
    expect(linearToUlaw(0)).toBe(0xff);
    expect(linearToAlaw(32767)).toBe(0xaa);
    expect(linearToAlaw(-32768)).toBe(0x2a);
    expect(linearToUlaw(32767)).toBe(0x80);
    expect(linearToUlaw(-32768)).toBe(0x00);
    expect(alawToLinear(0xd5)).toBe(8);
    expect(ulawToLinear(0xff)).toBe(0);
  });

  it("decodes every code to a value that encodes back to the same code", () => {
    for (let code = 0; code < 256; code++) {
      expect(linearToAlaw(alawToLinear(code))).toBe(code);
      // µ-law has two zeros (0x7F and 0xFF); both decode to 0, which encodes as 0xFF.
      if (code !== 0x7f) expect(linearToUlaw(ulawToLinear(code))).toBe(code);
    }
  });

  it("keeps every sample within its segment's step (logarithmic error)", () => {
    fc.assert(
      fc.property(fc.integer({ min: -32768, max: 32767 }), (sample) => {
        for (const [encode, decode] of [
          [linearToAlaw, alawToLinear],
          [linearToUlaw, ulawToLinear],
        ] as const) {
          const error = Math.abs(decode(encode(sample)) - sample);
          expect(error).toBeLessThanOrEqual(Math.max(32, Math.abs(sample) / 16) + 8);
        }
      }),
    );
  });

  it("encodes little-endian PCM one byte per sample and decodes it back", () => {
    const pcm = Buffer.alloc(8);
    for (const [i, v] of [0, 1000, -1000, 20000].entries()) pcm.writeInt16LE(v, i * 2);
    const alaw = encodeG711(pcm, "alaw");
    expect(alaw.length).toBe(4);
    expect([...decodeG711(alaw, "alaw")].map((v) => Math.round(v / 100))).toEqual([0, 10, -10, 200]);
    expect(encodeG711(pcm.subarray(0, 3), "ulaw").length).toBe(1);
  });
});
