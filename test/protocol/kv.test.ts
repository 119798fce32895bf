import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  coerceScalar,
  formatKvLines,
  formatPath,
  type JsonObject,
  kvToTree,
  parseKvLines,
  parsePath,
  treeToKv,
} from "../../src/protocol/kv.ts";

describe("key=value bodies", () => {
  it("splits on the first '=' and keeps '=' inside values (aiodahua parse_kv, rroller#477)", () => {
    expect(parseKvLines("a=b=c\r\nurl=http://x/?q=1\r\n")).toEqual([
      ["a", "b=c"],
      ["url", "http://x/?q=1"],
    ]);
  });

  it("accepts CRLF or LF, blank lines and empty values", () => {
    expect(parseKvLines("a=1\n\r\nb=\r\n\nc=3")).toEqual([
      ["a", "1"],
      ["b", ""],
      ["c", "3"],
    ]);
  });

  it("joins NVR log continuation lines (no '=') to the previous value (reference §2.9)", () => {
    const body =
      "found=1\r\nitems[0].Detail=Event Type:IPC Offline Alarm\r\nChannel:10\r\nStart Time:2026-09-13 01:38:20\r\nitems[0].Type=IPC Offline Alarm\r\n";
    const tree = kvToTree(parseKvLines(body));
    expect(tree).toEqual({
      found: 1,
      items: [
        {
          Detail: "Event Type:IPC Offline Alarm\nChannel:10\nStart Time:2026-09-13 01:38:20",
          Type: "IPC Offline Alarm",
        },
      ],
    });
  });

  it("builds trees with arrays from [n] and strips the table prefix", () => {
    const body =
      "table.Encode[0].MainFormat[0].Video.FPS=25\r\ntable.Encode[0].MainFormat[0].Video.Compression=H.264\r\ntable.Lighting[0][0].Mode=Auto\r\n";
    expect(kvToTree(parseKvLines(body), { stripPrefix: "table" })).toEqual({
      Encode: [{ MainFormat: [{ Video: { FPS: 25, Compression: "H.264" } }] }],
      Lighting: [[{ Mode: "Auto" }]],
    });
  });

  it("reads the firmware's Postion spelling and LF-only bodies (IP4M-1051 caps)", () => {
    expect(kvToTree(parseKvLines("status.Postion[0]=242.700000\nstatus.Postion[1]=9.6\n"))).toEqual({
      status: { Postion: ["242.700000", 9.6] },
    });
  });

  it("coerces only what round-trips exactly", () => {
    expect(coerceScalar("true")).toBe(true);
    expect(coerceScalar("25")).toBe(25);
    expect(coerceScalar("-1.5")).toBe(-1.5);
    expect(coerceScalar("0012")).toBe("0012");
    expect(coerceScalar("997703680.000000")).toBe("997703680.000000");
    expect(coerceScalar("1 00:00:00-23:59:59")).toBe("1 00:00:00-23:59:59");
    expect(coerceScalar("")).toBe("");
  });

  it("paths round-trip", () => {
    const path = "table.Lighting_V2[0][0][0].LightType";
    expect(formatPath(parsePath(path))).toBe(path);
  });

  const name = fc.stringMatching(/^[A-Za-z][A-Za-z0-9_]{0,8}$/);
  const leaf = fc.oneof(
    fc.boolean(),
    fc.integer({ min: -1_000_000, max: 1_000_000 }),
    fc
      .stringMatching(/^[ -<>-~]{0,12}$/)
      .filter((s) => coerceScalar(s) === s && s.trim() === s && !s.includes("=")),
  );
  const tree: fc.Arbitrary<JsonObject> = fc.letrec<{ node: JsonObject; value: unknown }>((tie) => ({
    node: fc.dictionary(name, tie("value") as fc.Arbitrary<never>, { minKeys: 1, maxKeys: 4 }),
    value: fc.oneof(
      { depthSize: "small" },
      leaf,
      tie("node"),
      fc.array(fc.oneof(leaf, tie("node")), { minLength: 1, maxLength: 3 }),
    ),
  })).node;

  it("property: tree → lines → tree is the identity", () => {
    fc.assert(
      fc.property(tree, (t) => {
        const entries = treeToKv(t);
        const reparsed = kvToTree(parseKvLines(formatKvLines(entries)));
        // Empty objects and arrays have no lines; compare against the tree without them.
        expect(reparsed).toEqual(kvToTree(entries));
        expect(treeToKv(reparsed)).toEqual(entries);
      }),
      { numRuns: 300 },
    );
  });

  it("property: any text parses without throwing, and every entry's key has no line break", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (text) => {
        for (const [key] of parseKvLines(text)) expect(key).not.toMatch(/[\r\n]/);
      }),
    );
  });
});
