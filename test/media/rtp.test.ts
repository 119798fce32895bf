/** RTP header rules: which SSRC is the stream's. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SSRC_SWITCH_PACKETS, SsrcLock } from "../../src/media/rtp.ts";

describe("SsrcLock", () => {
  it("keeps the first SSRC and refuses strays that never hold for a switch's worth of packets (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 ** 32 - 1 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 1, max: 2 ** 32 - 1 })), {
          maxLength: 300,
        }),
        (stream, noise) => {
          const lock = new SsrcLock();
          expect(lock.accept(stream)).toBe(true);
          for (const [strays, stray] of noise) {
            const foreign = stray === stream ? stream + 1 : stray;
            // Fewer than a switch's worth in a row, then the stream again.
            for (let i = 0; i < Math.min(strays, SSRC_SWITCH_PACKETS - 1); i++)
              expect(lock.accept(foreign)).toBe(false);
            expect(lock.accept(stream)).toBe(true);
          }
        },
      ),
    );
  });

  it("takes a new SSRC once it holds for SSRC_SWITCH_PACKETS packets in a row (an encoder restart)", () => {
    const lock = new SsrcLock();
    lock.accept(1);
    const verdicts = Array.from({ length: SSRC_SWITCH_PACKETS + 2 }, () => lock.accept(2));
    expect(verdicts.indexOf(true)).toBe(SSRC_SWITCH_PACKETS - 1);
    expect(verdicts.slice(SSRC_SWITCH_PACKETS - 1).every(Boolean)).toBe(true);
    expect(lock.accept(1)).toBe(false);
  });
});
