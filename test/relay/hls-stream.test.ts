/**
 * The LL-HLS muxer on any sequence of pictures: every segment starts at a keyframe (its first part marked
 * INDEPENDENT), no part is longer than the part target, a segment's EXTINF is the sum of its parts and its
 * bytes are its parts' bytes in order, at most the configured number of segments is held, and a segment
 * that outgrows its byte bound is dropped behind a discontinuity instead of growing memory.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Fmp4Init } from "../../src/relay/fmp4-feed.ts";
import { HlsStream } from "../../src/relay/hls-stream.ts";

const init: Fmp4Init = {
  mime: 'video/mp4; codecs="avc1.4d401f"',
  videoOnlyMime: 'video/mp4; codecs="avc1.4d401f"',
  segment: new Uint8Array([1, 2, 3]),
  videoOnlySegment: new Uint8Array([1, 2, 3]),
  codec: "avc1.4d401f",
  width: 640,
  height: 360,
  unplayableAudio: undefined,
  generation: 1,
};

interface Picture {
  keyframe: boolean;
  /** 90 kHz ticks since the previous picture. */
  duration: number;
  bytes: number;
}

const picture = fc.record({
  keyframe: fc.boolean(),
  duration: fc.constantFrom(3600, 3000, 1800, 7200),
  bytes: fc.integer({ min: 1, max: 3000 }),
});

function feed(stream: HlsStream, pictures: Picture[]): Uint8Array[] {
  const sent: Uint8Array[] = [];
  let pts = 0;
  pictures.forEach((p, i) => {
    pts += p.duration;
    const data = new Uint8Array(p.bytes).fill(i % 251);
    sent.push(data);
    stream.onFragment({
      data,
      keyframe: p.keyframe,
      audio: false,
      generation: 1,
      receivedAt: 1_700_000_000_000 + Math.round((pts / 90_000) * 1000),
      pts,
      duration: p.duration,
    });
  });
  return sent;
}

describe("LL-HLS muxer", () => {
  it("cuts segments at keyframes and parts under the target, and serves their bytes", () => {
    fc.assert(
      fc.property(fc.array(picture, { minLength: 1, maxLength: 300 }), (pictures) => {
        const stream = new HlsStream({ partTargetMs: 500, segmentMinMs: 1000, maxSegments: 5 });
        stream.onInit(init);
        feed(stream, pictures);
        const playlist = stream.playlist();
        if (!pictures.some((p) => p.keyframe)) {
          expect(playlist).toBeUndefined();
          return;
        }
        const text = playlist as string;
        expect(text.startsWith("#EXTM3U\n#EXT-X-VERSION:9\n")).toBe(true);
        const lines = text.trim().split("\n");
        const segments = lines.filter((l) => /^seg-\d+\.m4s$/.test(l)).length;
        expect(segments).toBeLessThanOrEqual(5);
        let partDurations: number[] = [];
        let firstOfSegment = true;
        for (const line of lines) {
          const part = /^#EXT-X-PART:DURATION=([\d.]+),URI="part-(\d+)\.(\d+)\.m4s"(,INDEPENDENT=YES)?$/.exec(
            line,
          );
          if (part) {
            const duration = Number(part[1]);
            // Never longer than the target (every picture here is shorter than it).
            expect(duration).toBeLessThanOrEqual(0.5);
            if (part[3] === "0") {
              firstOfSegment = true;
              partDurations = [];
            }
            // The first part of a segment starts with a keyframe.
            if (firstOfSegment) expect(part[4]).toBe(",INDEPENDENT=YES");
            firstOfSegment = false;
            partDurations.push(duration);
            const bytes = stream.part(Number(part[2]), Number(part[3]));
            expect(bytes).toBeDefined();
          }
          const extinf = /^#EXTINF:([\d.]+),$/.exec(line);
          if (extinf && partDurations.length > 0) {
            const sum = partDurations.reduce((a, b) => a + b, 0);
            expect(Math.abs(Number(extinf[1]) - sum)).toBeLessThan(0.01);
          }
        }
        // A whole segment is its parts' bytes, in order.
        for (const match of text.matchAll(/^seg-(\d+)\.m4s$/gm)) {
          const msn = Number(match[1]);
          const whole = Buffer.concat((stream.segment(msn) ?? []).map((c) => Buffer.from(c)));
          const parts: Buffer[] = [];
          for (let i = 0; stream.part(msn, i); i++)
            parts.push(...(stream.part(msn, i) ?? []).map((c) => Buffer.from(c)));
          if (parts.length > 0) expect(whole.equals(Buffer.concat(parts))).toBe(true);
        }
      }),
    );
  });

  it("drops a segment that outgrows its bound behind a discontinuity, holding little", () => {
    const stream = new HlsStream({ maxSegmentBytes: 100_000, segmentMinMs: 1000 });
    stream.onInit(init);
    // A keyframe, then 10 s of pictures without another (a long GOP at a high bitrate).
    feed(stream, [{ keyframe: true, duration: 3600, bytes: 5000 }]);
    feed(
      stream,
      Array.from({ length: 250 }, () => ({ keyframe: false, duration: 3600, bytes: 5000 })),
    );
    expect(stream.resets).toBe(1);
    expect(stream.bytes).toBeLessThanOrEqual(100_000);
    feed(stream, [
      { keyframe: true, duration: 3600, bytes: 5000 },
      ...Array.from({ length: 30 }, () => ({ keyframe: false, duration: 3600, bytes: 500 })),
      { keyframe: true, duration: 3600, bytes: 5000 },
    ]);
    expect(stream.playlist()).toContain("#EXT-X-DISCONTINUITY\n");
  });

  it("answers a blocking reload when the part is made, and at its timeout otherwise", async () => {
    const stream = new HlsStream();
    stream.onInit(init);
    feed(stream, [{ keyframe: true, duration: 3600, bytes: 10 }]);
    const waiting = stream.waitFor(0, 1, 60_000);
    expect(stream.waiting).toBe(1);
    // Part 0 closes when part 1 starts; part 1 is whole when part 2 starts.
    feed(
      stream,
      Array.from({ length: 30 }, () => ({ keyframe: false, duration: 3600, bytes: 10 })),
    );
    expect(await waiting).toBe(true);
    expect(stream.waiting).toBe(0);
    expect(await stream.waitFor(5, 0, 10)).toBe(false);
  });
});
