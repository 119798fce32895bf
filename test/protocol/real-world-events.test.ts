/**
 * Event streams as real firmware frames them (issue 27; sources in test/fixtures/real-world/README.md):
 * each fixture parses into the events its source says it holds, whatever the chunking; a blank after the
 * boundary's dashes and a body with no blank line before it are taken; a declared length that does not
 * match its part is found by the boundary that should follow it.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseEventBody } from "../../src/protocol/event-body.ts";
import { MultipartParser } from "../../src/protocol/multipart.ts";

const fixture = (name: string) => readFileSync(join(import.meta.dirname, "../fixtures/real-world", name));

/** The events (code and action) and heartbeats of a stream, fed in pieces cut at `cuts`. */
function eventsOf(bytes: Buffer, cuts: number[] = []): string[] {
  const parser = new MultipartParser({ boundary: "myboundary" });
  const out: string[] = [];
  let at = 0;
  for (const cut of [...cuts.filter((c) => c > 0 && c < bytes.length), bytes.length].sort((a, b) => a - b)) {
    for (const part of parser.push(bytes.subarray(at, cut))) {
      const body = parseEventBody(part.body.toString("utf8").trim());
      out.push(body.kind === "heartbeat" ? "Heartbeat" : `${body.code} ${body.action}`);
    }
    at = cut;
  }
  return out;
}

describe("real-world event streams", () => {
  it("rroller/dahua#166: LF line ends, blank lines between parts, Smart Motion with multi-line JSON", () => {
    const bytes = fixture("rroller-dahua-166-smart-motion.txt");
    const expected = [
      "Heartbeat",
      "VideoMotionInfo State",
      "VideoMotion Start",
      "VideoMotionInfo State",
      "VideoMotionInfo State",
      "VideoMotionInfo State",
      "Heartbeat",
      "VideoMotionInfo State",
      "VideoMotionInfo State",
      "Heartbeat",
      "VideoMotion Stop",
    ];
    expect(eventsOf(bytes)).toEqual(expected);
    fc.assert(
      fc.property(fc.array(fc.nat({ max: bytes.length }), { maxLength: 20 }), (cuts) => {
        expect(eventsOf(bytes, cuts)).toEqual(expected);
      }),
    );
    const parser = new MultipartParser({ boundary: "myboundary" });
    const start = parser.push(bytes).map((part) => parseEventBody(part.body.toString("utf8").trim()))[2];
    expect(start).toMatchObject({
      kind: "event",
      index: 0,
      data: { Id: [0], RegionName: ["Region1"], SmartMotionEnable: true },
    });
  });

  it("a blank after the boundary's dashes and no blank line before the body (Amcrest firmware of 2016)", () => {
    const bytes = fixture("amcrest-2016-spaced-boundary.txt");
    const expected = ["VideoMotion Start", "VideoMotion Stop", "AlarmLocal Start"];
    expect(eventsOf(bytes)).toEqual(expected);
    fc.assert(
      fc.property(fc.array(fc.nat({ max: bytes.length }), { maxLength: 20 }), (cuts) => {
        expect(eventsOf(bytes, cuts)).toEqual(expected);
      }),
    );
  });

  it("a Content-Length longer than its part: the part ends at the boundary, and the next one is kept", () => {
    const stream = Buffer.from(
      [
        "--myboundary",
        "Content-Type: text/plain",
        "Content-Length: 120",
        "",
        "Code=VideoMotion;action=Start;index=0",
        "",
        "--myboundary",
        "Content-Type: text/plain",
        "Content-Length: 36",
        "",
        "Code=VideoMotion;action=Stop;index=0",
        "",
        "--myboundary",
        "Content-Type: text/plain",
        "Content-Length: 9",
        "",
        "Heartbeat",
        "",
        "--myboundary",
        "",
      ].join("\r\n"),
    );
    expect(eventsOf(stream)).toEqual(["VideoMotion Start", "VideoMotion Stop", "Heartbeat"]);
  });

  it("a Content-Length shorter than its part: the rest up to the boundary is the part's", () => {
    const stream = Buffer.from(
      [
        "--myboundary",
        "Content-Type: text/plain",
        "Content-Length: 20",
        "",
        'Code=VideoMotion;action=Start;index=0;data={ "RegionName" : [ "Region1" ] }',
        "",
        "--myboundary",
        "Content-Type: text/plain",
        "Content-Length: 36",
        "",
        "Code=VideoMotion;action=Stop;index=0",
        "",
        "--myboundary",
        "",
      ].join("\r\n"),
    );
    const parser = new MultipartParser({ boundary: "myboundary" });
    const bodies = parser.push(stream).map((part) => parseEventBody(part.body.toString("utf8").trim()));
    expect(bodies[0]).toMatchObject({
      kind: "event",
      code: "VideoMotion",
      data: { RegionName: ["Region1"] },
    });
    expect(bodies.map((b) => (b.kind === "event" ? b.action : b.kind))).toEqual(["Start", "Stop"]);
  });
});
