/**
 * Typed objects from the camera's smart events (issue 27): each published capture (sources in
 * test/fixtures/real-world/README.md) reads into the objects, rule and direction its source shows, every
 * firmware spelling included; and any JSON at all gives a bounded answer, never a throw.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseEventBody } from "../../src/protocol/event-body.ts";
import type { JsonValue } from "../../src/protocol/kv.ts";
import { objectTypeOf, smartDetailsOf } from "../../src/protocol/smart-objects.ts";

const fixture = (name: string) =>
  readFileSync(join(import.meta.dirname, "../fixtures/real-world", name), "utf8");

interface FixtureEvent {
  source: string;
  code: string;
  data: JsonValue;
  expect: { rule?: string; direction?: string; objects: Record<string, unknown>[] };
}

const ivs = (JSON.parse(fixture("ivs-events.json")) as { events: FixtureEvent[] }).events;

describe("smart details of published captures", () => {
  for (const event of ivs) {
    it(`${event.code} from ${event.source.split(" ")[0]}`, () => {
      const details = smartDetailsOf(event.code, event.data);
      expect(details?.rule).toBe(event.expect.rule);
      expect(details?.direction).toBe(event.expect.direction);
      expect(details?.objects).toHaveLength(event.expect.objects.length);
      for (const [i, object] of event.expect.objects.entries())
        expect(details?.objects[i]).toMatchObject(object);
    });
  }

  it("reads the box of rroller/dahua#138 as fractions of the picture (8192-normalised corners)", () => {
    const pool = ivs[0];
    const box = pool ? smartDetailsOf(pool.code, pool.data)?.objects[0]?.box : undefined;
    // [5488, 2488, 5984, 4648] / 8192
    expect(box).toEqual({ x: 0.6699, y: 0.3037, width: 0.0605, height: 0.2637 });
    expect(pool ? smartDetailsOf(pool.code, pool.data)?.objects[0]?.center : undefined).toEqual({
      x: 0.7002,
      y: 0.4355,
    });
  });

  it("reads the SmartMotionHuman part of rroller/dahua#276: the object array, HumamID and Rect", () => {
    const body = parseEventBody(fixture("rroller-dahua-276-smart-motion-human.txt"));
    if (body.kind !== "event") throw new Error("not an event");
    expect(body.code).toBe("SmartMotionHuman");
    const details = smartDetailsOf(body.code, body.data ?? null);
    expect(details).toEqual({
      objects: [{ type: "human", id: 52599, box: { x: 0.2813, y: 0.0898, width: 0.0547, height: 0.2695 } }],
      rule: "Region1",
    });
  });
});

describe("other spellings", () => {
  it("reads an Objects array, a vehicle's id key, Postion, and corners in either order", () => {
    const details = smartDetailsOf("SmartMotionVehicle", {
      Objects: [{ ObjectType: "MotorVehicle", ObjectID: 3, BoundingBox: [4096, 4096, 0, 0] }],
      object: [{ VehicleID: 9, Rect: [0, 0, 8192, 8192], Postion: [4096, 2048] }],
    });
    expect(details?.objects).toEqual([
      { type: "vehicle", cameraType: "MotorVehicle", id: 3, box: { x: 0, y: 0, width: 0.5, height: 0.5 } },
      { type: "vehicle", id: 9, box: { x: 0, y: 0, width: 1, height: 1 }, center: { x: 0.5, y: 0.25 } },
    ]);
  });

  it("maps the camera's type words", () => {
    expect(["Human", "HumanFace", "Vehicle", "NonMotor", "Animal", "Smoke"].map(objectTypeOf)).toEqual([
      "human",
      "face",
      "vehicle",
      "non-motor",
      "animal",
      "other",
    ]);
  });

  it("has nothing to say of an event without objects, rule or direction", () => {
    expect(smartDetailsOf("VideoMotion", { SmartMotionEnable: true })).toBeUndefined();
    expect(smartDetailsOf("StorageFailure", null)).toBeUndefined();
    expect(smartDetailsOf("X", [1, 2, 3])).toBeUndefined();
  });
});

describe("any data at all", () => {
  const json = fc.jsonValue({ maxDepth: 4 }) as fc.Arbitrary<JsonValue>;
  const box = fc.array(fc.oneof(fc.integer({ min: -100_000, max: 100_000 }), fc.double()), {
    minLength: 4,
    maxLength: 4,
  });
  const objectish = fc.record({
    ObjectType: fc.oneof(fc.string(), json),
    ObjectID: json,
    BoundingBox: fc.oneof(box, json),
    Rect: fc.oneof(box, json),
    HumamID: json,
  });
  const data = fc.oneof(
    json,
    fc.record({
      Object: fc.oneof(objectish, json),
      object: fc.oneof(fc.array(fc.oneof(objectish, json), { maxLength: 80 }), json),
      Name: json,
      Direction: json,
      RegionName: json,
    }),
  );

  it("never throws, keeps at most 32 objects, and every box is inside the picture", () => {
    fc.assert(
      fc.property(fc.string(), data, (code, value) => {
        const details = smartDetailsOf(code, value);
        if (!details) return;
        expect(details.objects.length).toBeLessThanOrEqual(32);
        for (const object of details.objects) {
          const b = object.box;
          if (!b) continue;
          for (const n of [b.x, b.y, b.width, b.height]) expect(n >= 0 && n <= 1).toBe(true);
          expect(b.x + b.width).toBeLessThanOrEqual(1.0001);
          expect(b.y + b.height).toBeLessThanOrEqual(1.0001);
        }
        if (details.rule !== undefined) expect(details.rule.length).toBeLessThanOrEqual(64);
      }),
      { numRuns: 500 },
    );
  });
});
