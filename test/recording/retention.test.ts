/**
 * Retention's rules, property-tested: continuous footage goes oldest first until each budget holds; a clip
 * is never deleted before its own age limit (whatever the budget), but always after it; clips whose
 * incident is gone go too. Then one pass on real files: the file and its row go together.
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { configSchema } from "../../src/config/schema.ts";
import { Incidents } from "../../src/events/incidents.ts";
import { type Recording, RecordingIndex } from "../../src/recording/recording-index.ts";
import { pinnedRecording, RecordingRetention, recordingsToDelete } from "../../src/recording/retention.ts";
import { storageEngines } from "../helpers/engines.ts";

const NOW = 1_800_000_000_000;
const DAY = 86_400_000;

const recordingArb = fc.record({
  camera: fc.constantFrom("a", "b"),
  kind: fc.constantFrom<"clip" | "segment">("clip", "segment"),
  ageDays: fc.double({ min: 0, max: 60, noNaN: true }),
  bytes: fc.integer({ min: 1, max: 1000 }),
});

function recordings(
  specs: { camera: string; kind: "clip" | "segment"; ageDays: number; bytes: number }[],
): Recording[] {
  return specs
    .map((spec, i) => ({
      id: `r${String(i).padStart(4, "0")}`,
      camera: spec.camera,
      kind: spec.kind,
      incident: spec.kind === "clip" ? `i${i}` : null,
      file: `f${i}.mp4`,
      start: new Date(NOW - spec.ageDays * DAY).toISOString(),
      end: null,
      durationMs: 1000,
      bytes: spec.bytes,
      state: "done" as const,
      error: null,
    }))
    .sort((x, y) => Date.parse(x.start) - Date.parse(y.start));
}

describe("recording retention", () => {
  it("keeps every clip until its limit and none after; trims continuous footage oldest first to the budgets", () => {
    fc.assert(
      fc.property(
        fc.array(recordingArb, { maxLength: 60 }),
        fc.integer({ min: 500, max: 20_000 }),
        fc.option(fc.integer({ min: 200, max: 10_000 }), { nil: undefined }),
        (specs, total, perCamera) => {
          const all = recordings(specs);
          const rules = { clipMaxAgeMs: 30 * DAY, totalMaxBytes: total, cameraMaxBytes: () => perCamera };
          const { doomed, overBudgetByClips } = recordingsToDelete(all, new Set(), rules, NOW);
          const gone = new Set(doomed.map((r) => r.id));
          for (const r of all) {
            const old = Date.parse(r.start) < NOW - 30 * DAY;
            if (r.kind === "clip") expect(gone.has(r.id)).toBe(old);
          }
          const kept = all.filter((r) => !gone.has(r.id));
          const sum = (list: Recording[]) => list.reduce((s, r) => s + r.bytes, 0);
          if (!overBudgetByClips.includes("all")) expect(sum(kept)).toBeLessThanOrEqual(total);
          // Oldest first: no kept segment is older than a deleted one of the same camera.
          for (const camera of ["a", "b"]) {
            const deleted = doomed.filter((r) => r.camera === camera && r.kind === "segment");
            const newestDeleted = Math.max(...deleted.map((r) => Date.parse(r.start)), -Infinity);
            const keptSegments = kept.filter((r) => r.camera === camera && r.kind === "segment");
            for (const r of keptSegments) expect(Date.parse(r.start)).toBeGreaterThanOrEqual(newestDeleted);
          }
        },
      ),
    );
  });

  it("keeps what a pinned incident holds, whatever the age and the budget: its clip and the footage around it", () => {
    fc.assert(
      fc.property(fc.array(recordingArb, { minLength: 1, maxLength: 60 }), fc.nat(), (specs, pick) => {
        const all = recordings(specs);
        const chosen = all[pick % all.length] as Recording;
        const at = Date.parse(chosen.start);
        const pins = [{ camera: chosen.camera, start: at, end: at + 1000 }];
        const pinnedIds = new Set(chosen.incident ? [chosen.incident] : []);
        const holds = (r: Recording) => pinnedRecording(r, pinnedIds, pins, NOW);
        const rules = {
          clipMaxAgeMs: DAY,
          segmentMaxAgeMs: DAY,
          totalMaxBytes: 1,
          cameraMaxBytes: () => 1,
          pinned: holds,
        };
        const gone = new Set(recordingsToDelete(all, new Set(), rules, NOW).doomed.map((r) => r.id));
        expect(gone.has(chosen.id)).toBe(false);
        for (const r of all) if (holds(r)) expect(gone.has(r.id)).toBe(false);
        // Anything else old goes, as the rules say.
        for (const r of all)
          if (!holds(r) && Date.parse(r.start) < NOW - DAY) expect(gone.has(r.id)).toBe(true);
      }),
    );
  });

  it("says when clips alone are over a budget, and takes clips whose incident is gone", () => {
    const all = recordings([
      { camera: "a", kind: "clip", ageDays: 1, bytes: 800 },
      { camera: "a", kind: "clip", ageDays: 2, bytes: 800 },
    ]);
    const result = recordingsToDelete(
      all,
      new Set([all[0]?.id ?? ""]),
      { clipMaxAgeMs: 30 * DAY, totalMaxBytes: 500, cameraMaxBytes: () => undefined },
      NOW,
    );
    expect(result.doomed.map((r) => r.id)).toEqual([all[0]?.id]);
    expect(result.overBudgetByClips).toEqual(["all"]);
  });
});

const engines = storageEngines();

describe.each(engines)("the recordings index on $name", (engine) => {
  it.skipIf(!engine.available)("retention deletes the file and its row together", async () => {
    const { sql, dir } = await engine.open();
    const index = new RecordingIndex(sql);
    mkdirSync(join(dir, "rec", "a"), { recursive: true });
    for (const [id, age] of [
      ["old", 40],
      ["new", 1],
    ] as const) {
      writeFileSync(join(dir, "rec", "a", `${id}.mp4`), "x");
      void index.begin({
        id,
        camera: "a",
        kind: "clip",
        incident: id,
        file: join("a", `${id}.mp4`),
        startedAt: NOW - age * DAY,
      });
      void index.done(id, NOW - age * DAY + 1000, 1000, 1);
      await sql.run(
        "INSERT INTO incidents (id, camera, code, channel, started_at, ended_at, last_at, sources, snapshot_event, events) VALUES (?, 'a', 'VideoMotion', 0, ?, ?, ?, '[\"camera\"]', NULL, 1)",
        [id, NOW, NOW, NOW],
      );
    }
    await index.flushed();
    const retention = new RecordingRetention(
      index,
      join(dir, "rec"),
      configSchema.parse({}),
      pino({ level: "silent" }),
      (ids) => new Incidents(sql).existing(ids),
    );
    expect(await retention.run(NOW)).toBe(1);
    expect(existsSync(join(dir, "rec", "a", "old.mp4"))).toBe(false);
    expect(existsSync(join(dir, "rec", "a", "new.mp4"))).toBe(true);
    expect(await index.get("old")).toBeUndefined();
    expect((await index.get("new"))?.state).toBe("done");
    expect(await index.withDoneClips(["old", "new", "none"])).toEqual(new Set(["new"]));
  });

  it.skipIf(!engine.available)(
    "keeps writes in order, and gives each instance only what it left unfinished",
    async () => {
      const { sql } = await engine.open();
      const [one, two] = [new RecordingIndex(sql, "one"), new RecordingIndex(sql, "two")];
      const file = (id: string) => ({
        id,
        camera: "a",
        kind: "segment" as const,
        file: `${id}.mp4`,
        startedAt: NOW,
      });
      // Not awaited: each write waits for the one before, so done never overtakes begin.
      for (let i = 0; i < 20; i++) {
        void one.begin(file(`one-${i}`));
        if (i % 2 === 0) void one.done(`one-${i}`, NOW + 1000, 1000, 10);
      }
      void two.begin(file("two-0"));
      await Promise.all([one.flushed(), two.flushed()]);
      expect((await one.unfinished()).map((r) => r.id).sort()).toEqual(
        Array.from({ length: 10 }, (_, i) => `one-${2 * i + 1}`).sort(),
      );
      expect((await two.unfinished()).map((r) => r.id)).toEqual(["two-0"]);
      expect((await one.settled()).every((r) => r.state === "done")).toBe(true);
    },
  );
});
