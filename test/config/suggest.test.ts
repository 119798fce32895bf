/** "Did you mean": the schema's keys at a path, and the closest one to a typo. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { configSchema } from "../../src/config/schema.ts";
import { closestKey, keysAt } from "../../src/config/suggest.ts";

describe("config key suggestions", () => {
  it("knows the keys at each level, through arrays and defaults", () => {
    expect(keysAt(configSchema, [])).toContain("cameras");
    expect(keysAt(configSchema, ["cameras", 0])).toContain("passthroughPort");
    expect(keysAt(configSchema, ["cameras", 0, "rtsp"])).toEqual(
      expect.arrayContaining(["port", "maxSessions"]),
    );
    expect(keysAt(configSchema, ["server", "webrtc"])).toContain("maxSessions");
    expect(keysAt(configSchema, ["cameras", 0, "id"])).toEqual([]);
  });

  it("a known key with one letter dropped, doubled or changed points back at it", () => {
    const known = keysAt(configSchema, ["cameras", 0]);
    fc.assert(
      fc.property(
        fc.constantFrom(...known.filter((k) => k.length >= 6)),
        fc.nat(),
        fc.constantFrom("drop", "double", "change"),
        (key, at, edit) => {
          const i = at % key.length;
          const typo =
            edit === "drop"
              ? key.slice(0, i) + key.slice(i + 1)
              : edit === "double"
                ? key.slice(0, i) + key[i] + key.slice(i)
                : `${key.slice(0, i)}${key[i] === "x" ? "y" : "x"}${key.slice(i + 1)}`;
          const guess = closestKey(typo, known);
          // Another key may be as close (maxConnections / maxSessions); the key itself is never farther.
          expect(guess).toBeDefined();
          if (guess !== key) expect(known).toContain(guess);
        },
      ),
      { numRuns: 500 },
    );
  });

  it("nothing close is no suggestion, and any text is judged without a throw", () => {
    expect(closestKey("zzzzqqq", keysAt(configSchema, []))).toBeUndefined();
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (text) => void closestKey(text, ["port", "cameras"])),
    );
  });
});
