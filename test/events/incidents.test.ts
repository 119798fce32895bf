/**
 * Incidents over the raw transitions, on both engines of the shared store (SQLite and PostgreSQL): a motion
 * seen on the event stream and in an alarm mail is one incident with two sources; start and stop make one
 * incident with an end and a duration; pages go back through everything; retention takes incidents with
 * their transitions.
 */

import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { OPEN_FOR, RECENT_FOR } from "../../src/events/incidents.ts";
import type { EventAction, EventSource } from "../../src/events/model.ts";
import { EventStore } from "../../src/events/store.ts";
import type { JsonValue } from "../../src/protocol/kv.ts";
import { type Engine, storageEngines } from "../helpers/engines.ts";

const engines = storageEngines();

const T0 = 1_800_000_000_000;

async function setup(engine: Engine) {
  const { sql, dir } = await engine.open();
  let now = T0;
  const store = new EventStore(sql, join(dir, "snapshots"), () => now);
  /** A transition `atSeconds` after T0. */
  const at = (
    atSeconds: number,
    source: EventSource,
    action: EventAction,
    options: { code?: string; channel?: number; camera?: string; data?: JsonValue } = {},
  ) => {
    now = T0 + atSeconds * 1000;
    const at = now;
    return sql.transaction((tx) =>
      store.insert(
        tx,
        {
          camera: options.camera ?? "dogs",
          source,
          code: options.code ?? "VideoMotion",
          action,
          channel: options.channel ?? 0,
          data: options.data ?? null,
          cameraTime: null,
        },
        at,
      ),
    );
  };
  return { sql, store, at };
}

describe.each(engines)("incidents on $name", (engine) => {
  it.skipIf(!engine.available)(
    "camgate's motion confirms the camera's; kinds and zones are kept and filter the list, wildcards and all",
    async () => {
      const { store, at } = await setup(engine);
      store.judgeMotionWith((camera) => camera === "dogs");
      const judged = (await at(0, "camera", "start")).incident ?? "";
      expect(await store.incidents.get(judged)).toMatchObject({
        confirmed: false,
        kinds: ["motion"],
        zones: [],
      });
      await at(1, "motion", "start", { data: { zones: ["drive_way"] } });
      await at(2, "motion", "pulse", { data: { zones: ["100%"] } });
      await at(5, "camera", "stop");
      expect(await store.incidents.get(judged)).toMatchObject({
        confirmed: true,
        sources: ["camera", "motion"],
        kinds: ["motion", "confirmed-motion"],
        zones: ["drive_way", "100%"],
        ongoing: false,
      });
      // A camera camgate does not watch: its motion is not judged.
      const unjudged = (await at(10, "camera", "start", { camera: "cats" })).incident ?? "";
      expect((await store.incidents.get(unjudged))?.confirmed).toBeNull();
      // A person on the camera's own rule.
      const person = (
        await at(20, "camera", "start", {
          camera: "cats",
          code: "SmartMotionHuman",
          data: { RegionName: ["Front Gate"], object: [{ HumamID: 1, Rect: [1, 2, 3, 4] }] },
        })
      ).incident;
      const ids = async (filter: { kind?: string; zone?: string }) =>
        (await store.incidents.list({ cameras: "*", ...filter })).incidents.map((i) => i.id);
      expect(await ids({ kind: "confirmed-motion" })).toEqual([judged]);
      expect(await ids({ zone: "drive_way" })).toEqual([judged]);
      // `_` and `%` are names here, not wildcards.
      expect(await ids({ zone: "drive-way" })).toEqual([]);
      expect(await ids({ zone: "drivexway" })).toEqual([]);
      expect(await ids({ zone: "100%" })).toEqual([judged]);
      expect(await ids({ zone: "100" })).toEqual([]);
      expect(await ids({ kind: "person" })).toEqual([person]);
      expect(await ids({ kind: "person", zone: "Front Gate" })).toEqual([person]);
      expect(await ids({ kind: "person", zone: "drive_way" })).toEqual([]);
    },
  );

  it.skipIf(!engine.available)(
    "a start and its stop are one incident with an end and a duration",
    async () => {
      const { store, at } = await setup(engine);
      const start = await at(0, "camera", "start");
      expect(await store.incidents.get(start.incident ?? "")).toMatchObject({
        ongoing: true,
        end: null,
        durationMs: null,
      });
      const stop = await at(7.5, "camera", "stop");
      expect(stop.incident).toBe(start.incident);
      expect(await store.incidents.get(start.incident ?? "")).toMatchObject({
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
    },
  );

  it.skipIf(!engine.available)(
    "the alarm mail of a motion joins the stream's incident, during it or after its stop",
    async () => {
      const { store, at } = await setup(engine);
      const first = (await at(0, "camera", "start")).incident;
      expect((await at(4, "email", "start")).incident).toBe(first);
      await at(6, "camera", "stop");
      // The mail's stop neither ends nor moves the end the stream gave.
      expect((await at(9, "email", "stop")).incident).toBe(first);
      expect(await store.incidents.get(first ?? "")).toMatchObject({
        sources: ["camera", "email"],
        durationMs: 6000,
        events: 4,
      });

      // A mail that comes 20 s after the stop (Amcrest sends it late) still joins.
      const second = (await at(100, "camera", "start")).incident;
      await at(105, "camera", "stop");
      expect((await at(125, "email", "start")).incident).toBe(second);
      expect(await store.incidents.get(second ?? "")).toMatchObject({
        sources: ["camera", "email"],
        durationMs: 5000,
      });

      // Past the merge window, a mail is an incident of its own.
      expect((await at(300, "email", "start")).incident).not.toBe(second);
    },
  );

  it.skipIf(!engine.available)(
    "keeps apart what is not the same thing: a new motion after a stop, another channel, another code, gateway events",
    async () => {
      const { at } = await setup(engine);
      const one = (await at(0, "camera", "start")).incident;
      await at(3, "camera", "stop");
      expect((await at(10, "camera", "start")).incident).not.toBe(one);
      const two = (await at(11, "camera", "start", { channel: 1 })).incident;
      expect(two).not.toBe(one);
      expect((await at(12, "camera", "start", { code: "CrossLineDetection" })).incident).not.toBe(two);
      const offline = (await at(13, "gateway", "pulse", { code: "CameraOffline" })).incident;
      expect((await at(14, "gateway", "pulse", { code: "CameraOffline" })).incident).not.toBe(offline);
    },
  );

  it.skipIf(!engine.available)(
    "pages back through every incident, newest first, and filters by camera, code and time",
    async () => {
      const { store, at } = await setup(engine);
      for (let i = 0; i < 250; i++)
        await at(i * 120, "camera", "pulse", { camera: i % 2 === 0 ? "dogs" : "yard" });
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await store.incidents.list({ cameras: "*", limit: 100, ...(cursor ? { cursor } : {}) });
        seen.push(...page.incidents.map((incident) => incident.id));
        cursor = page.nextCursor;
      } while (cursor);
      expect(seen).toHaveLength(250);
      expect(new Set(seen).size).toBe(250);
      expect(seen).toEqual([...seen].sort().reverse());
      const yard = (await store.incidents.list({ cameras: "*", camera: "yard", limit: 1000 })).incidents;
      expect(yard).toHaveLength(125);
      expect((await store.incidents.list({ cameras: ["dogs"], camera: "yard" })).incidents).toHaveLength(0);
      expect((await store.incidents.list({ cameras: "*", code: "VideoBlind" })).incidents).toHaveLength(0);
    },
  );

  it.skipIf(!engine.available)("holds its invariants for any sequence of transitions", async () => {
    const step = fc.record({
      dt: fc.integer({ min: 0, max: 90 }),
      source: fc.constantFrom<EventSource>("camera", "email"),
      action: fc.constantFrom<EventAction>("start", "stop", "pulse"),
      channel: fc.integer({ min: 0, max: 1 }),
    });
    const { sql, at } = await setup(engine);
    let run = 0;
    // One store for every run, a camera of its own per run (a fresh database per run is slow on PostgreSQL).
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 60 }), async (steps) => {
        const camera = `run-${++run}`;
        let t = run * 100_000;
        for (const s of steps) {
          t += s.dt;
          await at(t, s.source, s.action, { channel: s.channel, camera });
        }
        const incidents = await sql.all<{
          id: string;
          events: number;
          sources: string;
          started_at: number;
          ended_at: number | null;
        }>("SELECT * FROM incidents WHERE camera = ?", [camera]);
        const linked = await sql.all<{ id: string | null; n: number }>(
          "SELECT incident_id AS id, COUNT(*) AS n FROM events WHERE camera = ? GROUP BY incident_id",
          [camera],
        );
        expect(linked.every((row) => row.id !== null)).toBe(true);
        expect(linked.reduce((sum, row) => sum + row.n, 0)).toBe(steps.length);
        for (const incident of incidents) {
          expect(linked.find((row) => row.id === incident.id)?.n).toBe(incident.events);
          const sources = JSON.parse(incident.sources) as string[];
          expect(new Set(sources).size).toBe(sources.length);
          if (incident.ended_at !== null)
            expect(incident.ended_at).toBeGreaterThanOrEqual(incident.started_at);
        }
      }),
      { numRuns: 50 },
    );
  });

  it.skipIf(!engine.available)("goes with its transitions when retention removes them", async () => {
    const { store, at } = await setup(engine);
    await at(0, "camera", "start");
    await at(5, "camera", "stop");
    await at(4000, "camera", "pulse");
    expect(await store.prune(3600_000, 100_000, T0 + 4000_000)).toBe(2);
    expect(
      (await store.incidents.list({ cameras: "*" })).incidents.map((incident) => incident.events),
    ).toEqual([1]);
  });
});

describe.each(engines)("the incident lookups on $name", (engine) => {
  it.skipIf(!engine.available)(
    "use an index each event, not a walk through the ended incidents (EXPLAIN)",
    async () => {
      const { sql } = await engine.open();
      const plan = (query: string, values: (string | number)[]) =>
        sql.transaction(async (tx) => {
          if (engine.name === "sqlite") {
            const rows = await tx.all<{ detail: string }>(`EXPLAIN QUERY PLAN ${query}`, values);
            return rows.map((row) => row.detail).join("\n");
          }
          // A table this small is read whole whatever its indexes; without that way out, the plan says
          // which index the lookup can use.
          await tx.run("SET LOCAL enable_seqscan = off", []);
          const rows = await tx.all<{ "QUERY PLAN": string }>(`EXPLAIN ${query}`, values);
          return rows.map((row) => row["QUERY PLAN"]).join("\n");
        });
      const open = await plan(OPEN_FOR, ["dogs", "VideoMotion", 0]);
      expect(open).toMatch(/incidents_open/);
      const recent = await plan(RECENT_FOR, ["dogs", "VideoMotion", 0, T0]);
      expect(recent).toMatch(/incidents_recent/);
      // Read in the index's order from its newest end: no sort of every incident within the window.
      expect(recent).not.toMatch(/TEMP B-TREE|Sort/);
    },
  );
});
