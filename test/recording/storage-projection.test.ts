/**
 * Storage projections: the rate a camera writes is measured from its footage, the rule that keeps the fewest
 * days decides (age, the camera's budget with its clips counted, the global budget shared by every camera's
 * rate, the disk), a camera under its minDays is short; and what the projection says is what retention then
 * keeps: footage written at a steady rate for longer than the budget holds, trimmed by the same rules the
 * retention pass runs, keeps as many days as were projected (to a segment).
 */
import { describe, expect, it } from "vitest";
import { configSchema } from "../../src/config/schema.ts";
import type { Recording } from "../../src/recording/recording-index.ts";
import { recordingsToDelete } from "../../src/recording/retention.ts";
import { projectStorage } from "../../src/recording/storage-projection.ts";

const GB = 1024 ** 3;
const DAY = 86_400_000;
const now = Date.UTC(2026, 11, 7, 12);

/** A camera's continuous footage: 10-minute segments of `gbPerDay`, over the last `days`. */
function footage(camera: string, gbPerDay: number, days: number): Recording[] {
  const segment = 10 * 60_000;
  const bytes = Math.round((gbPerDay * GB * segment) / DAY);
  const out: Recording[] = [];
  for (let start = now - days * DAY; start + segment <= now; start += segment)
    out.push({
      id: `${camera}-${start}`,
      camera,
      kind: "segment",
      incident: null,
      file: `${camera}/${start}.mp4`,
      start: new Date(start).toISOString(),
      end: new Date(start + segment).toISOString(),
      durationMs: segment,
      bytes,
      state: "done",
      error: null,
    });
  return out;
}

const config = (recording: Record<string, unknown>, cameras: Record<string, unknown>[]) =>
  configSchema.parse({
    recording,
    cameras: cameras.map((c) => ({ url: "http://192.168.1.10", username: "admin", password: "pw", ...c })),
  });

describe("storage projection", () => {
  it("measures each camera's rate and names the rule that keeps the fewest days", () => {
    const cfg = config({ continuousRetentionDays: 30, maxGigabytes: 100 }, [
      { id: "front", recording: { continuous: {}, maxGigabytes: 20, minDays: 10 } },
      { id: "back", recording: { continuous: {} } },
    ]);
    const projection = projectStorage(
      [...footage("front", 4, 3), ...footage("back", 2, 3)],
      cfg,
      now,
      500 * GB,
    );
    const [front, back] = projection.cameras;
    expect(front?.bytesPerDay).toBeCloseTo(4 * GB, -6);
    expect(front?.limit).toBe("camera-budget");
    expect(front?.projectedDays).toBeCloseTo(5, 1);
    expect(front?.short).toBe(true);
    expect(front?.summary).toMatch(
      /^5\.0 days \(its budget of 20 GB, at 4\.0 GB a day\): less than the 10 days asked for$/,
    );
    // The global 100 GB at 6 GB a day for both: 16.7 days, fewer than the 30 the age allows.
    expect(back?.limit).toBe("global-budget");
    expect(back?.projectedDays).toBeCloseTo(100 / 6, 1);
    expect(back?.keptDays).toBeCloseTo(3, 1);
  });

  it("says it is measuring before ten minutes of footage, and lets the disk decide when it is the smallest", () => {
    const cfg = config({}, [{ id: "front", recording: { continuous: {} } }]);
    expect(projectStorage([], cfg, now, null).cameras[0]?.summary).toMatch(/^measuring/);
    const disk = projectStorage(footage("front", 10, 1), cfg, now, 10 * GB).cameras[0];
    expect(disk?.limit).toBe("disk");
    // 10 GB free plus the 10 GB it holds, at 10 GB a day.
    expect(disk?.projectedDays).toBeCloseTo(2, 1);
  });

  it("projects what retention then keeps", () => {
    for (const [gbPerDay, budget] of [
      [4, 20],
      [7.5, 33],
      [1.2, 9],
    ] as const) {
      const cfg = config({ continuousRetentionDays: 60 }, [
        { id: "front", recording: { continuous: {}, maxGigabytes: budget } },
      ]);
      // More footage than the budget holds, as if retention had not run for a while.
      const all = footage("front", gbPerDay, (budget / gbPerDay) * 2);
      const projected = projectStorage(all, cfg, now, null).cameras[0]?.projectedDays ?? 0;
      const { doomed } = recordingsToDelete(
        all,
        new Set(),
        {
          clipMaxAgeMs: 30 * DAY,
          segmentMaxAgeMs: 60 * DAY,
          totalMaxBytes: undefined,
          cameraMaxBytes: () => budget * GB,
        },
        now,
      );
      const gone = new Set(doomed.map((r) => r.id));
      const kept = all.filter((r) => !gone.has(r.id));
      const keptDays = (now - Date.parse(kept[0]?.start ?? "")) / DAY;
      expect(Math.abs(keptDays - projected), `${gbPerDay} GB a day in ${budget} GB`).toBeLessThan(
        10 / (24 * 60) + 1e-6,
      );
    }
  });
});
