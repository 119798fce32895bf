/**
 * The pure parts of recording: the pre-roll ring keeps whole GOPs covering the pre-roll and no more (in
 * time and in bytes), a file init segment takes its duration in place, and byte ranges are read as RFC
 * 9110 says (property-tested against a plain slice), a fragment's decode time and number can be rewritten
 * in place (export) and nothing else in it changes, and an export picks footage that does not overlap.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fragment, initSegment, VIDEO_TRACK_ID, withDuration } from "../../src/media/fmp4.ts";
import { readMoof, retimeMoof } from "../../src/media/fmp4-scan.ts";
import { exportSources } from "../../src/recording/export.ts";
import { PreRollRing } from "../../src/recording/pre-roll.ts";
import type { Recording } from "../../src/recording/recording-index.ts";
import type { HubUnit } from "../../src/relay/stream-hub.ts";
import { byteRange } from "../../src/server/file-range.ts";

const unit = (at: number, keyframe: boolean, bytes = 1000): HubUnit => ({
  nalus: [new Uint8Array(bytes)],
  timestamp: at * 90,
  keyframe,
  bytes,
  pts: at * 90,
  receivedAt: at,
  sequence: at,
});

describe("the pre-roll ring", () => {
  it("starts a clip at the keyframe at or before the pre-roll, and keeps no older GOP", () => {
    const ring = new PreRollRing(5000, 1e9);
    // 2 s GOPs at 25 fps for 20 s.
    for (let t = 0; t <= 20_000; t += 40) ring.push(unit(t, t % 2000 === 0));
    const clip = ring.since(20_000);
    expect(clip[0]?.keyframe).toBe(true);
    expect(clip[0]?.receivedAt).toBe(14_000);
    expect(clip.at(-1)?.receivedAt).toBe(20_000);
    // Nothing before the GOP the pre-roll needs is held.
    expect(ring.since(0)[0]?.receivedAt).toBe(14_000);
  });

  it("never holds more than its byte budget, and drops units before a first keyframe", () => {
    const ring = new PreRollRing(60_000, 50_000);
    ring.push(unit(0, false));
    expect(ring.heldBytes).toBe(0);
    for (let t = 40; t <= 10_000; t += 40) ring.push(unit(t, t % 1000 === 40));
    expect(ring.heldBytes).toBeLessThanOrEqual(50_000);
    expect(ring.since(10_000)[0]?.keyframe).toBe(true);
  });

  it("drops a GOP that alone outgrows the budget, in bytes or in pictures (no keyframe again; issue 28)", () => {
    const ring = new PreRollRing(60_000, 50_000);
    ring.push(unit(0, true));
    for (let t = 1; t <= 200; t++) ring.push(unit(t, false));
    expect(ring.heldBytes).toBeLessThanOrEqual(50_000);
    const tiny = new PreRollRing(60_000, 1e9);
    tiny.push(unit(0, true, 1));
    for (let t = 1; t <= 20_000; t++) tiny.push(unit(t, false, 1));
    expect(tiny.since(20_000).length).toBeLessThanOrEqual(3600);
  });
});

describe("a recording's init segment", () => {
  it("states the duration in mvhd and mehd without changing its size", () => {
    const sps = Uint8Array.from([
      0x67, 0x42, 0xc0, 0x1e, 0xda, 0x02, 0x80, 0xbf, 0xe5, 0x84, 0x00, 0x00, 0x03, 0x00, 0x04,
    ]);
    const pps = Uint8Array.from([0x68, 0xce, 0x3c, 0x80]);
    const init = initSegment(
      {
        codec: "h264",
        parameterSets: [sps, pps],
        parameters: { codec: "avc1.42c01e", width: 640, height: 360, profile: 66, level: 30 } as never,
      },
      undefined,
      { forFile: true },
    );
    const done = withDuration(init, 12_345);
    expect(done.length).toBe(init.length);
    const view = new DataView(done.buffer);
    const find = (type: string) => Buffer.from(done).indexOf(type) - 4;
    expect(view.getUint32(find("mvhd") + 24)).toBe(12_345);
    expect(view.getUint32(find("mehd") + 16)).toBe(12_345);
    expect(() =>
      withDuration(
        initSegment({
          codec: "h264",
          parameterSets: [sps, pps],
          parameters: { codec: "avc1.42c01e", width: 640, height: 360 } as never,
        }),
        1,
      ),
    ).toThrow(/mehd/);
  });
});

describe("byte ranges", () => {
  it("answers what a slice of the file would be, or 416, or the whole file", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000 }),
        fc.option(fc.nat(12_000), { nil: undefined }),
        fc.option(fc.nat(12_000), { nil: undefined }),
        (size, first, last) => {
          const header = `bytes=${first ?? ""}-${last ?? ""}`;
          const range = byteRange(header, size);
          let expected: ReturnType<typeof byteRange>;
          if (first === undefined)
            expected =
              last === undefined || last === 0 ? "bad" : { start: Math.max(0, size - last), end: size - 1 };
          else if (first >= size || (last !== undefined && last < first)) expected = "bad";
          else expected = { start: first, end: Math.min(last ?? size - 1, size - 1) };
          expect(range).toEqual(expected);
        },
      ),
    );
    expect(byteRange(undefined, 10)).toBeUndefined();
    expect(byteRange("bytes=0-1,5-6", 10)).toBeUndefined();
    expect(byteRange("items=0-1", 10)).toBeUndefined();
  });
});

describe("re-timing a fragment (export)", () => {
  it("reads back what fragment() wrote, and changes only the decode time and the sequence number", () => {
    fc.assert(
      fc.property(
        fc.nat(2 ** 40),
        fc.integer({ min: 1, max: 90_000 }),
        fc.boolean(),
        fc.nat(2 ** 32 - 1),
        fc.nat(2 ** 40),
        fc.nat(2 ** 32 - 1),
        fc.uint8Array({ minLength: 1, maxLength: 64 }),
        (time, duration, keyframe, sequence, newTime, newSequence, payload) => {
          const bytes = fragment(
            {
              trackId: VIDEO_TRACK_ID,
              decodeTime: time,
              duration,
              keyframe,
              data: [payload],
              lengthPrefixed: true,
            },
            sequence,
          );
          const moofBytes = new DataView(bytes.buffer).getUint32(0);
          const moof = bytes.subarray(0, moofBytes);
          expect(readMoof(moof)).toEqual({ time, duration, keyframe });
          const before = Uint8Array.from(bytes);
          expect(retimeMoof(moof, newTime, newSequence)).toBe(true);
          expect(readMoof(moof)).toEqual({ time: newTime, duration, keyframe });
          expect(new DataView(bytes.buffer).getUint32(20)).toBe(newSequence);
          // Only mfhd's number (bytes 20..23) and tfdt's time (a 64-bit field) may differ.
          const changed = [...bytes.keys()].filter((i) => bytes[i] !== before[i]);
          for (const i of changed) expect((i >= 20 && i < 24) || (i >= 60 && i < 68)).toBe(true);
          expect(bytes.subarray(moofBytes)).toEqual(before.subarray(moofBytes));
        },
      ),
    );
    expect(readMoof(new Uint8Array(16))).toBeUndefined();
    expect(retimeMoof(new Uint8Array(16), 0, 0)).toBe(false);
  });
});

describe("what an export is made of", () => {
  const recording = (id: string, kind: Recording["kind"], start: number, durationMs: number): Recording => ({
    id,
    camera: "yard",
    kind,
    incident: null,
    file: `${id}.mp4`,
    start: new Date(start).toISOString(),
    end: new Date(start + durationMs).toISOString(),
    durationMs,
    bytes: 1,
    state: "done",
    error: null,
  });

  it("prefers continuous segments, else clips that do not overlap, in time order", () => {
    const clips = [
      recording("c2", "clip", 5000, 3000),
      recording("c1", "clip", 0, 6000),
      recording("c3", "clip", 6000, 1000),
    ];
    expect(exportSources(clips).map((r) => r.id)).toEqual(["c1", "c3"]);
    // Segments are all kept, even when their wall-clock edges overlap by capture jitter.
    const joined = [recording("s2", "segment", 9_980, 3000), recording("s1b", "segment", 0, 10_000)];
    expect(exportSources(joined).map((r) => r.id)).toEqual(["s1b", "s2"]);
    const segment = recording("s1", "segment", 0, 10_000);
    expect(exportSources([...clips, segment]).map((r) => r.id)).toEqual(["s1"]);
    // The segment being written is footage too (read up to its last whole fragment); a clip being written,
    // and a failed file, are not.
    const open = {
      ...segment,
      id: "s2",
      start: new Date(10_000).toISOString(),
      state: "recording" as const,
      durationMs: null,
    };
    expect(exportSources([segment, open]).map((r) => r.id)).toEqual(["s1", "s2"]);
    expect(exportSources([{ ...clips[0], state: "recording", durationMs: null } as Recording])).toEqual([]);
    expect(exportSources([{ ...segment, state: "failed" }])).toEqual([]);
  });
});
