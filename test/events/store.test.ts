/**
 * The event store, the outbox and ULIDs, on both engines of the shared store: a real SQLite file and a
 * real PostgreSQL (the same tests, the same repositories).
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EventBus } from "../../src/events/bus.ts";
import { Outbox } from "../../src/events/outbox.ts";
import { EventStore } from "../../src/events/store.ts";
import { UlidGenerator, ulidTime } from "../../src/events/ulid.ts";
import type { Sql } from "../../src/storage/sql.ts";
import { SqliteSql } from "../../src/storage/sqlite-sql.ts";
import { storageEngines } from "../helpers/engines.ts";

const engines = storageEngines();

const event = (camera: string, code: string, extra: Partial<{ snapshotFile: string }> = {}) => ({
  camera,
  source: "camera" as const,
  code,
  action: "pulse" as const,
  channel: 0,
  data: { n: 1 },
  cameraTime: null,
  ...extra,
});

describe("ULIDs", () => {
  it("sort by time and stay monotonic within a millisecond", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 2, maxLength: 200 }), (steps) => {
        let now = 1_700_000_000_000;
        const ids = new UlidGenerator(() => now);
        const made = steps.map((step) => {
          now += step;
          return ids.next();
        });
        expect(made).toEqual([...made].sort());
        expect(new Set(made).size).toBe(made.length);
        expect(ulidTime(made[made.length - 1] as string)).toBe(now);
      }),
    );
  });
});

describe.each(engines)("the shared store on $name", (engine) => {
  const setup = async (now: () => number = Date.now, claimant?: string) => {
    const opened = await engine.open();
    const stores = (sql: Sql, who = claimant) => {
      const store = new EventStore(sql, join(opened.dir, "snapshots"), now);
      const outbox = new Outbox(sql, { now, ...(who ? { claimant: who } : {}) });
      return { store, outbox, bus: new EventBus(store, outbox) };
    };
    return { ...opened, ...stores(opened.sql), stores };
  };
  const insert = (store: EventStore, e: ReturnType<typeof event>, at?: number) =>
    store.sql.transaction((tx) => store.insert(tx, e, at));

  it.skipIf(!engine.available)(
    "stores, lists newest first with cursors and filters, and keeps snapshots as files",
    async () => {
      const { store, sql } = await setup();
      if (sql instanceof SqliteSql) {
        expect(Number(sql.db.pragma("user_version", { simple: true }))).toBe(12);
        expect(String(sql.db.pragma("journal_mode", { simple: true }))).toBe("wal");
      }
      for (let i = 0; i < 5; i++) await insert(store, event("dogs", i % 2 ? "VideoMotion" : "AlarmLocal"));
      const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xd9]);
      const withSnapshot = await insert(
        store,
        event("front", "VideoBlind", { snapshotFile: await store.saveSnapshot(jpeg) }),
      );
      expect(withSnapshot.snapshot).toBe(true);
      expect(readFileSync((await store.snapshotPath(withSnapshot.id)) as string)).toEqual(jpeg);
      const newestDog = (await store.list({ cameras: ["dogs"], limit: 1 })).events[0];
      expect(await store.snapshotPath(newestDog?.id ?? "")).toBeUndefined();
      expect(await store.get(withSnapshot.id)).toEqual(withSnapshot);
      const first = await store.list({ cameras: "*", limit: 4 });
      expect(first.events).toHaveLength(4);
      expect(first.events[0]?.id).toBe(withSnapshot.id);
      const second = await store.list({ cameras: "*", limit: 4, cursor: first.nextCursor as string });
      expect(second.events).toHaveLength(2);
      expect(second.nextCursor).toBeUndefined();
      expect((await store.list({ cameras: ["dogs"], code: "VideoMotion" })).events).toHaveLength(2);
      expect((await store.list({ cameras: ["front"] })).events.map((e) => e.code)).toEqual(["VideoBlind"]);
      expect((await store.list({ cameras: [] })).events).toEqual([]);
      expect((await store.after(first.events[3]?.id ?? "")).map((e) => e.id)).toEqual(
        first.events
          .slice(0, 3)
          .reverse()
          .map((e) => e.id),
      );
    },
  );

  it.skipIf(!engine.available)("prunes by age and by count, with the snapshot files", async () => {
    let now = Date.parse("2026-01-01T00:00:00Z");
    const { store } = await setup(() => now);
    const file = await store.saveSnapshot(Buffer.from([0xff, 0xd8]));
    const old = await insert(store, event("dogs", "VideoBlind", { snapshotFile: file }), now);
    const path = (await store.snapshotPath(old.id)) as string;
    expect(existsSync(path)).toBe(true);
    now += 40 * 86_400_000;
    for (let i = 0; i < 5; i++) await insert(store, event("dogs", "AlarmLocal"), now);
    expect(await store.prune(30 * 86_400_000, 3, now)).toBe(3);
    expect(await store.count()).toBe(3);
    expect(await store.get(old.id)).toBeUndefined();
    expect(await store.incidents.get(old.incident ?? "")).toBeUndefined();
    expect(existsSync(path)).toBe(false);
  });

  it.skipIf(!engine.available)(
    "enqueues with the event in one transaction, keeps order per target and camera, backs off and dead-letters after 24 h",
    async () => {
      let now = 1_000_000;
      const { bus, outbox } = await setup(() => now);
      bus.addRouter((e) => (e.code === "VideoMotion" ? ["webhook:a", "mqtt"] : ["mqtt"]));
      const a = await bus.publish(event("dogs", "VideoMotion"));
      const b = await bus.publish(event("dogs", "AlarmLocal"));
      const c = await bus.publish(event("front", "AlarmLocal"));
      expect((await outbox.claim("webhook:a", 60_000))?.eventId).toBe(a.id);
      const head = await outbox.claim("mqtt", 60_000);
      expect(head?.eventId).toBe(a.id);
      if (!head) throw new Error("no head");
      // dogs' next waits for its head; another camera's queue goes on.
      expect((await outbox.claim("mqtt", 60_000))?.eventId).toBe(c.id);
      expect(await outbox.claim("mqtt", 60_000)).toBeUndefined();
      expect(await outbox.failed(head, "down")).toBe("pending");
      // Still first in its camera's line while it retries (1 s, then 2 s, ...).
      expect(await outbox.claim("mqtt", 60_000)).toBeUndefined();
      expect(await outbox.nextDue("mqtt")).toBe(now + 1000);
      now += 1000;
      const again = await outbox.claim("mqtt", 60_000);
      expect(again).toMatchObject({ eventId: a.id, attempts: 1 });
      expect(await outbox.failed(again as NonNullable<typeof again>, "down")).toBe("pending");
      expect(await outbox.nextDue("mqtt")).toBe(now + 2000);
      now += 2000;
      await outbox.delivered((await outbox.claim("mqtt", 60_000)) as NonNullable<typeof again>);
      const next = await outbox.claim("mqtt", 60_000);
      expect(next?.eventId).toBe(b.id);
      now += 24 * 3_600_000;
      expect(await outbox.failed(next as NonNullable<typeof next>, "still down")).toBe("dead");
      expect((await outbox.list("dead")).map((d) => d.eventId)).toEqual([b.id]);
      expect(await outbox.summary()).toContainEqual(
        expect.objectContaining({ target: "mqtt", state: "dead", count: 1 }),
      );
    },
  );

  it.skipIf(!engine.available)(
    "hands each delivery to one claimant at a time, and to another once the claim lapses",
    async () => {
      let now = 5_000_000;
      const opened = await setup(() => now, "one");
      const other = opened.stores(await opened.reopen(), "two");
      opened.bus.addRouter(() => ["webhook:x"]);
      const events = [];
      for (const camera of ["a", "b", "c", "a", "b", "c"])
        events.push(await opened.bus.publish(event(camera, "VideoMotion")));
      // Two claimants racing: every camera's head goes to exactly one of them, nothing twice.
      const claims = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          (i % 2 ? opened.outbox : other.outbox).claim("webhook:x", 30_000),
        ),
      );
      const claimed = claims.flatMap((d) => (d ? [d.eventId] : []));
      expect(claimed.sort()).toEqual(
        events
          .slice(0, 3)
          .map((e) => e.id)
          .sort(),
      );
      // The one holding a's head dies; after its claim lapses the other takes it, and then a's next.
      now += 30_001;
      const retaken = await other.outbox.claim("webhook:x", 30_000);
      expect(retaken?.eventId).toBe(events[0]?.id);
      await other.outbox.delivered(retaken as NonNullable<typeof retaken>);
      const order: string[] = [];
      for (;;) {
        const d = await other.outbox.claim("webhook:x", 30_000);
        if (!d) break;
        order.push(d.eventId);
        await other.outbox.delivered(d);
      }
      expect(order).toEqual(events.slice(1).map((e) => e.id));
    },
  );

  it.skipIf(!engine.available)(
    "claims only the cameras a claimant names (MQTT: each camera's owner)",
    async () => {
      const { bus, outbox } = await setup();
      bus.addRouter(() => ["mqtt"]);
      const a = await bus.publish(event("a", "VideoMotion"));
      const b = await bus.publish(event("b", "VideoMotion"));
      expect(await outbox.claim("mqtt", 1000, [])).toBeUndefined();
      expect(await outbox.nextDue("mqtt", [])).toBeUndefined();
      expect(await outbox.nextDue("mqtt", ["b"])).toBeDefined();
      expect((await outbox.claim("mqtt", 1000, ["b"]))?.eventId).toBe(b.id);
      expect((await outbox.claim("mqtt", 1000, ["a", "b"]))?.eventId).toBe(a.id);
    },
  );

  it.skipIf(!engine.available)("survives a restart: pending deliveries are still there", async () => {
    const { bus, reopen } = await setup();
    bus.addRouter(() => ["webhook:x"]);
    const stored = await bus.publish(event("dogs", "VideoMotion"));
    const again = new Outbox(await reopen());
    expect((await again.claim("webhook:x", 1000))?.eventId).toBe(stored.id);
  });

  it.skipIf(!engine.available)("rolls the event back with its deliveries when a router throws", async () => {
    const { bus, store, outbox } = await setup();
    bus.addRouter(() => ["webhook:x", "webhook:x"]);
    // The duplicate target is de-duplicated; a failing insert (an id taken) rolls the whole event back.
    const stored = await bus.publish(event("dogs", "VideoMotion"));
    bus.addRouter(() => {
      throw new Error("router failed");
    });
    await expect(bus.publish(event("dogs", "AlarmLocal"))).rejects.toThrow("router failed");
    expect(await store.count()).toBe(1);
    expect((await outbox.summary()).map((s) => s.count)).toEqual([1]);
    expect((await outbox.claim("webhook:x", 1000))?.eventId).toBe(stored.id);
  });
});
