/**
 * Software motion detection, pure: polygons rasterised as the even-odd rule reads them (properties); the
 * detector finds a moving square and its box, ignores sensor noise, a brightness step and a change of light
 * over most of the picture, never counts a masked pixel, and names the zones a region covers; episodes
 * start only after the minimum duration and end after the hold (properties over any sequence of verdicts).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { regionsOf } from "../../src/media/motion/components.ts";
import { MotionDetector } from "../../src/media/motion/motion-detector.ts";
import { MotionEpisodes } from "../../src/media/motion/motion-episodes.ts";
import { contains, type Polygon, rasterise } from "../../src/media/motion/polygon-mask.ts";

const W = 160;
const H = 120;

/** A textured, steady scene (a fixed pseudo-random texture and a gradient), with a seeded sensor noise. */
function scene(
  options: { noise?: number; gain?: number; square?: { x: number; y: number; size: number } },
  seed: number,
) {
  const picture = new Uint8Array(W * H);
  let state = seed * 2654435761 + 1;
  const random = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return ((state >>> 0) % 1000) / 1000;
  };
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      const texture = ((x * 7919 + y * 104729) % 37) - 18;
      let value = 70 + (x / W) * 80 + texture;
      if (options.square) {
        const { x: sx, y: sy, size } = options.square;
        if (x >= sx && x < sx + size && y >= sy && y < sy + size) value = 20;
      }
      value *= options.gain ?? 1;
      value += ((options.noise ?? 0) * (random() * 2 - 1)) | 0;
      picture[y * W + x] = Math.max(0, Math.min(255, Math.round(value)));
    }
  return picture;
}

function run(detector: MotionDetector, frames: Uint8Array[]) {
  return frames.map((frame) => detector.push(frame));
}

describe("polygons", () => {
  it("a pixel is inside when its centre is inside, by the even-odd rule (property)", () => {
    const point = fc.tuple(
      fc.double({ min: -0.2, max: 1.2, noNaN: true }),
      fc.double({ min: -0.2, max: 1.2, noNaN: true }),
    );
    fc.assert(
      fc.property(fc.array(point, { minLength: 3, maxLength: 8 }), (corners: [number, number][]) => {
        const polygon: Polygon = corners;
        const bitmap = rasterise([polygon], 32, 24);
        for (let row = 0; row < 24; row++)
          for (let column = 0; column < 32; column++) {
            const x = (column + 0.5) / 32;
            const y = (row + 0.5) / 24;
            if (nearAnEdge(polygon, x, y)) continue;
            expect(bitmap[row * 32 + column], `pixel ${column},${row}`).toBe(contains(polygon, x, y) ? 1 : 0);
          }
      }),
      { numRuns: 300 },
    );
  });

  it("the whole picture drawn around covers every pixel; fewer than three corners cover none", () => {
    expect(
      rasterise(
        [
          [
            [0, 0],
            [1, 0],
            [1, 1],
            [0, 1],
          ],
        ],
        W,
        H,
      ).every((v) => v === 1),
    ).toBe(true);
    expect(
      rasterise(
        [
          [
            [0, 0],
            [1, 1],
          ],
        ],
        W,
        H,
      ).every((v) => v === 0),
    ).toBe(true);
  });
});

function nearAnEdge(polygon: Polygon, x: number, y: number): boolean {
  for (let i = 0; i < polygon.length; i++) {
    const [ax, ay] = polygon[i] as [number, number];
    const [bx, by] = polygon[(i + 1) % polygon.length] as [number, number];
    const dx = bx - ax;
    const dy = by - ay;
    const t = Math.max(0, Math.min(1, ((x - ax) * dx + (y - ay) * dy) / (dx * dx + dy * dy || 1)));
    if (Math.hypot(ax + t * dx - x, ay + t * dy - y) < 1e-6) return true;
  }
  return false;
}

describe("regions", () => {
  it("counts 8-connected regions and their boxes, smallest left out", () => {
    const bitmap = new Uint8Array(10 * 10);
    for (const [x, y] of [
      [1, 1],
      [2, 2],
      [3, 3],
      [8, 8],
    ] as const)
      bitmap[y * 10 + x] = 1;
    const regions = regionsOf(bitmap, 10, 10, 2, new Int32Array(100));
    expect(regions).toEqual([{ area: 3, left: 1, top: 1, right: 3, bottom: 3 }]);
  });
});

describe("the detector", () => {
  it("finds a moving square where it is, and only after the warm-up", () => {
    const detector = new MotionDetector(W, H);
    const steady = Array.from({ length: 8 }, (_, i) => scene({ noise: 4 }, i));
    expect(run(detector, steady).some((v) => v.motion)).toBe(false);
    const moving = Array.from({ length: 10 }, (_, i) =>
      scene({ noise: 4, square: { x: 20 + i * 8, y: 50, size: 16 } }, 100 + i),
    );
    const verdicts = run(detector, moving);
    expect(verdicts.every((v) => v.motion)).toBe(true);
    const last = verdicts.at(-1);
    const box = last?.boxes[0];
    expect(box).toBeDefined();
    // The square is at x 92..107, y 50..65 in the last picture; its previous place may still show as a ghost.
    expect(box && box.x * W).toBeLessThanOrEqual(93);
    expect(box && (box.x + box.width) * W).toBeGreaterThanOrEqual(107);
    expect(box && box.y * H).toBeGreaterThanOrEqual(49);
    expect(box && (box.y + box.height) * H).toBeLessThanOrEqual(67);
  });

  it("heavy sensor noise is not motion once learned, nor is a brightness step, nor a change of most of the picture", () => {
    const detector = new MotionDetector(W, H);
    const noisy = Array.from({ length: 200 }, (_, i) => scene({ noise: 30 }, i));
    // After the noise is learned (a few seconds at 5 pictures a second), not one picture is motion.
    expect(
      run(detector, noisy)
        .slice(60)
        .filter((v) => v.motion),
    ).toEqual([]);
    const quiet = new MotionDetector(W, H);
    run(
      quiet,
      Array.from({ length: 8 }, (_, i) => scene({ noise: 3 }, i)),
    );
    const step = run(
      quiet,
      Array.from({ length: 5 }, (_, i) => scene({ noise: 3, gain: 0.6 }, 50 + i)),
    );
    expect(step.filter((v) => v.motion)).toEqual([]);
    // Most of the picture changes in a way no gain explains (the texture inverted): a change of light.
    const inverted = scene({ noise: 3 }, 99).map((v) => 255 - v);
    const verdict = quiet.push(inverted);
    expect(verdict).toMatchObject({ motion: false, lighting: true });
    expect(quiet.push(inverted).motion).toBe(false);
  });

  it("what was there while the background was learned and then left (a ghost) is background again after absorbFrames", () => {
    const detector = new MotionDetector(W, H);
    const square = { x: 60, y: 40, size: 24 };
    run(
      detector,
      Array.from({ length: 6 }, (_, i) => scene({ noise: 3, square }, i)),
    );
    const after = run(
      detector,
      Array.from({ length: 40 }, (_, i) => scene({ noise: 3 }, 10 + i)),
    );
    // Its place shows as motion at first, then no more once absorbed (25 pictures by default).
    expect(after[0]?.motion).toBe(true);
    expect(after.slice(27).some((v) => v.motion)).toBe(false);
  });

  it("a masked area never counts, and zones are named by the regions inside them", () => {
    const left: Polygon = [
      [0, 0],
      [0.5, 0],
      [0.5, 1],
      [0, 1],
    ];
    const right: Polygon = [
      [0.5, 0],
      [1, 0],
      [1, 1],
      [0.5, 1],
    ];
    const masked = new MotionDetector(W, H, undefined, [left]);
    const zoned = new MotionDetector(
      W,
      H,
      undefined,
      [],
      [
        { name: "left", points: left },
        { name: "right", points: right },
      ],
    );
    const frames = [
      ...Array.from({ length: 8 }, (_, i) => scene({ noise: 3 }, i)),
      ...Array.from({ length: 6 }, (_, i) =>
        scene({ noise: 3, square: { x: 10 + i * 6, y: 40, size: 20 } }, 20 + i),
      ),
    ];
    expect(run(masked, frames).some((v) => v.motion)).toBe(false);
    const zones = run(zoned, frames)
      .filter((v) => v.motion)
      .map((v) => v.zones);
    expect(zones.length).toBeGreaterThan(0);
    expect(zones.every((z) => z.length === 1 && z[0] === "left")).toBe(true);
  });
});

describe("episodes", () => {
  const settings = { minDurationMs: 600, maxGapMs: 1000, holdMs: 5000 };

  it("start after the minimum duration and end after the hold, alternately (property)", () => {
    const step = fc.record({
      motion: fc.boolean(),
      gapMs: fc.integer({ min: 0, max: 7000 }),
      zone: fc.constantFrom("a", "b", ""),
    });
    fc.assert(
      fc.property(fc.array(step, { maxLength: 200 }), (steps) => {
        const episodes = new MotionEpisodes(settings);
        let at = 0;
        let active = false;
        let motionSince: number | undefined;
        let lastMotion: number | undefined;
        for (const s of steps) {
          at += s.gapMs;
          const change = episodes.push(s.motion, s.zone ? [s.zone] : [], at);
          if (change?.kind === "start") {
            expect(active).toBe(false);
            active = true;
            // The motion that started it lasted at least the minimum.
            expect(motionSince).toBeDefined();
            expect(at - (motionSince as number)).toBeGreaterThanOrEqual(settings.minDurationMs);
          } else if (change?.kind === "stop") {
            expect(active).toBe(true);
            expect(at - (lastMotion as number)).toBeGreaterThanOrEqual(settings.holdMs);
            active = episodes.isActive;
          } else if (change?.kind === "zones") {
            expect(active).toBe(true);
            expect(change.added.length).toBeGreaterThan(0);
          }
          if (s.motion) {
            if (!episodes.isActive && (lastMotion === undefined || at - lastMotion > settings.maxGapMs))
              motionSince = at;
            if (episodes.isActive && change?.kind === "stop") motionSince = at;
            lastMotion = at;
          }
          expect(episodes.isActive).toBe(active);
        }
      }),
      { numRuns: 500 },
    );
  });

  it("a picture of motion alone is no episode; a pause shorter than the hold is the same episode", () => {
    const episodes = new MotionEpisodes(settings);
    expect(episodes.push(true, [], 0)).toBeUndefined();
    expect(episodes.push(false, [], 200)).toBeUndefined();
    expect(episodes.push(false, [], 2000)).toBeUndefined();
    expect(episodes.push(true, [], 3000)).toBeUndefined();
    expect(episodes.push(true, ["drive"], 3400)).toBeUndefined();
    expect(episodes.push(true, [], 3600)).toEqual({ kind: "start", at: 3600, zones: ["drive"] });
    expect(episodes.push(false, [], 8000)).toBeUndefined();
    expect(episodes.push(true, ["street"], 8100)).toEqual({
      kind: "zones",
      at: 8100,
      zones: ["drive", "street"],
      added: ["street"],
    });
    expect(episodes.tick(13_099)).toBeUndefined();
    expect(episodes.tick(13_100)).toEqual({ kind: "stop", at: 13_100, zones: ["drive", "street"] });
  });
});
