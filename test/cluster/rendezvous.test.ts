/** Rendezvous hashing: one owner per camera, the same answer in any order, and minimal movement. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { assign, ownerOf } from "../../src/cluster/rendezvous.ts";

const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
const instanceSet = fc.uniqueArray(fc.stringMatching(/^[a-z0-9-]{1,12}$/), { minLength: 1, maxLength: 8 });

describe("rendezvous ownership", () => {
  it("gives every camera exactly one live owner, whatever order the instances are listed in", () => {
    fc.assert(
      fc.property(
        instanceSet,
        fc.uniqueArray(fc.string({ maxLength: 16 }), { maxLength: 40 }),
        (instances, cameras) => {
          const shares = assign(cameras, instances);
          const owned = [...shares.values()].flat();
          expect(owned.sort()).toEqual([...cameras].sort());
          const reversed = [...instances].reverse();
          for (const camera of cameras) expect(ownerOf(camera, reversed)).toBe(ownerOf(camera, instances));
        },
      ),
    );
  });

  it("moves only the leaving instance's cameras when one leaves, and only to the joiner when one joins", () => {
    fc.assert(
      fc.property(
        instanceSet.filter((list) => list.length >= 2),
        fc.nat(),
        (instances, pick) => {
          const cameras = ids("cam", 200);
          const leaving = instances[pick % instances.length] as string;
          const remaining = instances.filter((i) => i !== leaving);
          for (const camera of cameras) {
            const before = ownerOf(camera, instances);
            const after = ownerOf(camera, remaining);
            if (before !== leaving) expect(after).toBe(before);
          }
          // The same fact read the other way: the one joining takes cameras only from others, moves no others.
          for (const camera of cameras) {
            const before = ownerOf(camera, remaining);
            const after = ownerOf(camera, instances);
            if (after !== leaving) expect(after).toBe(before);
          }
        },
      ),
    );
  });

  it("spreads cameras evenly: 3 instances x 300 cameras, each within a fifth of its fair share", () => {
    const shares = assign(ids("camera-", 300), ["camgate-a", "camgate-b", "camgate-c"]);
    for (const share of shares.values()) expect(Math.abs(share.length - 100)).toBeLessThan(20);
  });

  it("has no owner without instances", () => {
    expect(ownerOf("yard", [])).toBeUndefined();
  });
});
