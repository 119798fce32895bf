/**
 * Incidents over the raw transitions, on a real SQLite file: a motion seen on the event stream and in an
 * alarm mail is one incident with two sources; start and stop make one incident with an end and a
 * duration; pages go back through everything; retention takes incidents with their transitions.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import type { EventAction, EventSource } from "../../src/events/model.ts";
import { EventStore } from "../../src/events/store.ts";
import { openDatabase } from "../../src/storage/database.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const T0 = 1_800_000_000_000;

function setup() {
  const dir = mkdtempSync(join(tmpdir(), "camgate-incidents-"));
  dirs.push(dir);
  let now = T0;
  const db = openDatabase(join(dir, "camgate.db"));
  const store = new EventStore(db, join(dir, "snapshots"), () => now);
  /** A transition `atSeconds` after T0. */
  const at = (
    atSeconds: number,
    source: EventSource,
    action: EventAction,
    options: { code?: string; channel?: number; camera?: string } = {},
  ) => {
    now = T0 + atSeconds * 1000;
    return store.insert(
      {
        camera: options.camera ?? "dogs",
        source,
        code: options.code ?? "VideoMotion",
        action,
        channel: options.channel ?? 0,
        data: null,
        cameraTime: null,
      },
      now,
    );
  };
  return { db, store, at };
}

describe("incidents", () => {
  it("a start and its stop are one incident with an end and a duration", () => {
    const { store, at } = setup();
    const start = at(0, "camera", "start");
    expect(store.incidents.get(start.incident ?? "")).toMatchObject({
      ongoing: true,
      end: null,
      durationMs: null,
    });
    const stop = at(7.5, "camera", "stop");
    expect(stop.incident).toBe(start.incident);
    expect(store.incidents.get(start.incident ?? "")).toMatchObject({
      id: start.id,
      camera: "dogs",
      code: "VideoMotion",
      start: new Date(T0).toISOString(),
      end: new Date(T0 + 7500).toISOString(),
      durationMs: 7500,
      ongoing: false,
      sources: ["camera"],
      events: 2,
    });
  });

  it("the alarm mail of a motion joins the stream's incident, during it or after its stop", () => {
    const { store, at } = setup();
    const first = at(0, "camera", "start").incident;
    expect(at(4, "email", "start").incident).toBe(first);
    at(6, "camera", "stop");
    // The mail's stop neither ends nor moves the end the stream gave.
    expect(at(9, "email", "stop").incident).toBe(first);
    expect(store.incidents.get(first ?? "")).toMatchObject({
      sources: ["camera", "email"],
      durationMs: 6000,
      events: 4,
    });

    // A mail that comes 20 s after the stop (Amcrest sends it late) still joins.
    const second = at(100, "camera", "start").incident;
    at(105, "camera", "stop");
    expect(at(125, "email", "start").incident).toBe(second);
    expect(store.incidents.get(second ?? "")).toMatchObject({
      sources: ["camera", "email"],
      durationMs: 5000,
    });

    // Past the merge window, a mail is an incident of its own.
    expect(at(300, "email", "start").incident).not.toBe(second);
  });

  it("keeps apart what is not the same thing: a new motion after a stop, another channel, another code, gateway events", () => {
    const { at } = setup();
    const one = at(0, "camera", "start").incident;
    at(3, "camera", "stop");
    expect(at(10, "camera", "start").incident).not.toBe(one);
    const two = at(11, "camera", "start", { channel: 1 }).incident;
    expect(two).not.toBe(one);
    expect(at(12, "camera", "start", { code: "CrossLineDetection" }).incident).not.toBe(two);
    const offline = at(13, "gateway", "pulse", { code: "CameraOffline" }).incident;
    expect(at(14, "gateway", "pulse", { code: "CameraOffline" }).incident).not.toBe(offline);
  });

  it("pages back through every incident, newest first, and filters by camera, code and time", () => {
    const { store, at } = setup();
    for (let i = 0; i < 250; i++) at(i * 120, "camera", "pulse", { camera: i % 2 === 0 ? "dogs" : "yard" });
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = store.incidents.list({ cameras: "*", limit: 100, ...(cursor ? { cursor } : {}) });
      seen.push(...page.incidents.map((incident) => incident.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toHaveLength(250);
    expect(new Set(seen).size).toBe(250);
    expect(seen).toEqual([...seen].sort().reverse());
    const yard = store.incidents.list({ cameras: "*", camera: "yard", limit: 1000 }).incidents;
    expect(yard).toHaveLength(125);
    expect(store.incidents.list({ cameras: ["dogs"], camera: "yard" }).incidents).toHaveLength(0);
    expect(store.incidents.list({ cameras: "*", code: "VideoBlind" }).incidents).toHaveLength(0);
  });

  it("holds its invariants for any sequence of transitions", () => {
    const step = fc.record({
      dt: fc.integer({ min: 0, max: 90 }),
      source: fc.constantFrom<EventSource>("camera", "email"),
      action: fc.constantFrom<EventAction>("start", "stop", "pulse"),
      channel: fc.integer({ min: 0, max: 1 }),
    });
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 60 }), (steps) => {
        const { db, store, at } = setup();
        let t = 0;
        for (const s of steps) {
          t += s.dt;
          at(t, s.source, s.action, { channel: s.channel });
        }
        const incidents = store.incidents.list({ cameras: "*", limit: 1000 }).incidents;
        const linked = db
          .prepare("SELECT incident_id AS id, COUNT(*) AS n FROM events GROUP BY incident_id")
          .all() as {
          id: string | null;
          n: number;
        }[];
        expect(linked.every((row) => row.id !== null)).toBe(true);
        expect(linked.reduce((sum, row) => sum + row.n, 0)).toBe(steps.length);
        for (const incident of incidents) {
          expect(linked.find((row) => row.id === incident.id)?.n).toBe(incident.events);
          expect(new Set(incident.sources).size).toBe(incident.sources.length);
          if (incident.end)
            expect(Date.parse(incident.end)).toBeGreaterThanOrEqual(Date.parse(incident.start));
        }
        db.close();
      }),
      { numRuns: 50 },
    );
  });

  it("goes with its transitions when retention removes them", async () => {
    const { store, at } = setup();
    at(0, "camera", "start");
    at(5, "camera", "stop");
    at(4000, "camera", "pulse");
    expect(await store.prune(3600_000, 100_000, T0 + 4000_000)).toBe(2);
    expect(store.incidents.list({ cameras: "*" }).incidents.map((incident) => incident.events)).toEqual([1]);
  });
});
