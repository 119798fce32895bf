/** The event store, the outbox and ULIDs, on a real SQLite file. */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { EventBus } from "../../src/events/bus.ts";
import { Outbox } from "../../src/events/outbox.ts";
import { EventStore } from "../../src/events/store.ts";
import { UlidGenerator, ulidTime } from "../../src/events/ulid.ts";
import { openDatabase } from "../../src/storage/database.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function setup(now: () => number = Date.now) {
  const dir = mkdtempSync(join(tmpdir(), "camgate-store-"));
  dirs.push(dir);
  const db = openDatabase(join(dir, "camgate.db"));
  const store = new EventStore(db, join(dir, "snapshots"), now);
  const outbox = new Outbox(db, { now });
  return { dir, db, store, outbox, bus: new EventBus(store, outbox) };
}

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

describe("event store", () => {
  it("stores, lists newest first with cursors and filters, and keeps snapshots as files", async () => {
    const { store, db } = setup();
    expect(Number(db.pragma("user_version", { simple: true }))).toBe(7);
    expect(String(db.pragma("journal_mode", { simple: true }))).toBe("wal");
    for (let i = 0; i < 5; i++) store.insert(event("dogs", i % 2 ? "VideoMotion" : "AlarmLocal"));
    const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xd9]);
    const withSnapshot = store.insert(
      event("front", "VideoBlind", { snapshotFile: await store.saveSnapshot(jpeg) }),
    );
    expect(withSnapshot.snapshot).toBe(true);
    expect(readFileSync(store.snapshotPath(withSnapshot.id) as string)).toEqual(jpeg);
    expect(
      store.snapshotPath(store.list({ cameras: ["dogs"], limit: 1 }).events[0]?.id ?? ""),
    ).toBeUndefined();
    const first = store.list({ cameras: "*", limit: 4 });
    expect(first.events).toHaveLength(4);
    expect(first.events[0]?.id).toBe(withSnapshot.id);
    const second = store.list({ cameras: "*", limit: 4, cursor: first.nextCursor as string });
    expect(second.events).toHaveLength(2);
    expect(second.nextCursor).toBeUndefined();
    expect(store.list({ cameras: ["dogs"], code: "VideoMotion" }).events).toHaveLength(2);
    expect(store.list({ cameras: ["front"] }).events.map((e) => e.code)).toEqual(["VideoBlind"]);
    expect(store.list({ cameras: [] }).events).toEqual([]);
  });

  it("prunes by age and by count, with the snapshot files", async () => {
    let now = Date.parse("2026-01-01T00:00:00Z");
    const { store } = setup(() => now);
    const file = await store.saveSnapshot(Buffer.from([0xff, 0xd8]));
    const old = store.insert(event("dogs", "VideoBlind", { snapshotFile: file }), now);
    const path = store.snapshotPath(old.id) as string;
    expect(existsSync(path)).toBe(true);
    now += 40 * 86_400_000;
    for (let i = 0; i < 5; i++) store.insert(event("dogs", "AlarmLocal"), now);
    expect(await store.prune(30 * 86_400_000, 3, now)).toBe(3);
    expect(store.count()).toBe(3);
    expect(store.get(old.id)).toBeUndefined();
    expect(existsSync(path)).toBe(false);
  });
});

describe("outbox", () => {
  it("enqueues with the event in one transaction, keeps order per target, backs off and dead-letters after 24 h", () => {
    let now = 1_000_000;
    const { bus, outbox } = setup(() => now);
    bus.addRouter((e) => (e.code === "VideoMotion" ? ["webhook:a", "mqtt"] : ["mqtt"]));
    const a = bus.publish(event("dogs", "VideoMotion"));
    const b = bus.publish(event("dogs", "AlarmLocal"));
    expect(outbox.head("webhook:a")?.eventId).toBe(a.id);
    expect(outbox.head("mqtt")?.eventId).toBe(a.id);
    const head = outbox.head("mqtt");
    if (!head) throw new Error("no head");
    expect(outbox.failed(head, "down")).toBe("pending");
    // Still first in line: order per target is kept while it retries (1 s, then 2 s, ...).
    expect(outbox.head("mqtt")).toMatchObject({ eventId: a.id, attempts: 1, nextAt: now + 1000 });
    expect(outbox.failed(outbox.head("mqtt") as NonNullable<ReturnType<typeof outbox.head>>, "down")).toBe(
      "pending",
    );
    expect(outbox.head("mqtt")?.nextAt).toBe(now + 2000);
    outbox.delivered(head);
    expect(outbox.head("mqtt")?.eventId).toBe(b.id);
    now += 24 * 3_600_000;
    expect(
      outbox.failed(outbox.head("mqtt") as NonNullable<ReturnType<typeof outbox.head>>, "still down"),
    ).toBe("dead");
    expect(outbox.list("dead").map((d) => d.eventId)).toEqual([b.id]);
    expect(outbox.summary()).toContainEqual(
      expect.objectContaining({ target: "mqtt", state: "dead", count: 1 }),
    );
  });

  it("survives reopening the database: pending deliveries are still there", () => {
    const { dir, bus, db } = setup();
    bus.addRouter(() => ["webhook:x"]);
    const stored = bus.publish(event("dogs", "VideoMotion"));
    db.close();
    const reopened = openDatabase(join(dir, "camgate.db"));
    try {
      expect(new Outbox(reopened).head("webhook:x")?.eventId).toBe(stored.id);
    } finally {
      reopened.close();
    }
  });
});
