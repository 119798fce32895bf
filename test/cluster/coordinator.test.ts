/**
 * Three coordinators sharing twelve cameras on a real PostgreSQL, driven heartbeat by heartbeat: every
 * camera has exactly one owner, never two at any observed moment; an instance that dies (stops beating,
 * releases nothing) loses its cameras to the others once its leases lapse, and only its cameras move; back,
 * it gets its share again by hand-over; a clean stop hands everything over at once; one that loses the
 * database lets go of its cameras before its leases could lapse.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ClusterCoordinator } from "../../src/cluster/coordinator.ts";
import { openPostgres, type PostgresStore } from "../../src/storage/postgres.ts";
import { waitFor } from "../helpers/http.ts";
import { locatePostgres, startTestPostgres, type TestPostgres } from "../helpers/postgres.ts";

const available = locatePostgres() !== undefined || process.env.CI === "true";
const CAMERAS = Array.from({ length: 12 }, (_, i) => `camera-${i}`);
const TTL_MS = 3000;

let server: TestPostgres;
let store: PostgresStore;

beforeAll(async () => {
  if (!available) return;
  server = await startTestPostgres();
  store = await openPostgres(server.url);
}, 60_000);

afterAll(async () => {
  await store?.close();
  await server?.stop();
});

/** A coordinator whose "camera sessions" are a set, so the test can see who uses which camera. */
function instance(id: string, using: Map<string, Set<string>>, pool = store.pool) {
  const mine = new Set<string>();
  using.set(id, mine);
  return new ClusterCoordinator({
    pool,
    instance: id,
    ttlMs: TTL_MS,
    cameras: () => CAMERAS,
    onGained: (camera) => {
      mine.add(camera);
    },
    onLost: (camera) => {
      mine.delete(camera);
    },
    onError: () => undefined,
  });
}

/** No camera is in use by two instances. */
function exclusive(using: Map<string, Set<string>>): boolean {
  const seen = new Set<string>();
  for (const cameras of using.values())
    for (const camera of cameras) {
      if (seen.has(camera)) return false;
      seen.add(camera);
    }
  return true;
}

const allOwned = (using: Map<string, Set<string>>) =>
  [...using.values()].reduce((n, cameras) => n + cameras.size, 0) === CAMERAS.length;

describe.skipIf(!available)("cluster coordinators", () => {
  it("share the cameras, move only a dead one's, take them back without two owners, hand over on stop", async () => {
    const using = new Map<string, Set<string>>();
    const a = instance("node-a", using);
    const b = instance("node-b", using);
    const c = instance("node-c", using);
    const everyone = () => [a, b, c];
    const beatAll = async (list: ClusterCoordinator[]) => {
      for (const coordinator of list) {
        await coordinator.tick();
        expect(exclusive(using)).toBe(true);
      }
    };
    // Everyone beats twice: the first beat may not yet see the others alive.
    await beatAll(everyone());
    await waitFor(
      async () => {
        await beatAll(everyone());
        return allOwned(using) && [a, b, c].every((x) => x.owned.size > 0) ? true : undefined;
      },
      10_000,
      "every camera owned, by all three",
    );
    const before = new Map([...using].map(([id, cameras]) => [id, new Set(cameras)]));

    // node-b dies: no more beats, nothing released. Its leases lapse; a and c take its cameras, and only those.
    const dead = new Set(before.get("node-b"));
    await waitFor(
      async () => {
        await beatAll([a, c]);
        return [...dead].every(
          (camera) => using.get("node-a")?.has(camera) || using.get("node-c")?.has(camera),
        )
          ? true
          : undefined;
      },
      10_000,
      "node-b's cameras moved",
    );
    for (const id of ["node-a", "node-c"])
      for (const camera of before.get(id) ?? []) expect(using.get(id)?.has(camera)).toBe(true);

    // node-b comes back (the same id, fresh state): a and c hand its share back, one camera at a time.
    using.get("node-b")?.clear();
    const back = instance("node-b", using);
    await waitFor(
      async () => {
        await beatAll([back, a, c]);
        return [...dead].every((camera) => using.get("node-b")?.has(camera)) ? true : undefined;
      },
      10_000,
      "node-b's share back",
    );
    expect(allOwned(using)).toBe(true);

    // A clean stop: c's cameras are free at once, and the others take them on their next beats.
    const cameraOfC = [...(using.get("node-c") ?? [])];
    await c.stop();
    expect(using.get("node-c")?.size).toBe(0);
    await waitFor(
      async () => {
        await beatAll([a, back]);
        return cameraOfC.every(
          (camera) => using.get("node-a")?.has(camera) || using.get("node-b")?.has(camera),
        )
          ? true
          : undefined;
      },
      10_000,
      "node-c's cameras taken over",
    );
    await a.stop();
    await back.stop();
  });

  it("lets go of every camera when it cannot reach the database, before its leases lapse", async () => {
    const using = new Map<string, Set<string>>();
    const pool = (await openPostgres(server.url)).pool;
    const lonely = instance("node-lonely", using, pool);
    await lonely.tick();
    await waitFor(async () => {
      await lonely.tick();
      return (using.get("node-lonely")?.size ?? 0) > 0 ? true : undefined;
    }, 10_000);
    // Its connections go away (the network to the database is lost).
    await pool.end();
    await waitFor(
      async () => {
        await lonely.tick();
        return using.get("node-lonely")?.size === 0 ? true : undefined;
      },
      10_000,
      "the instance to fence itself",
    );
    // The leases it held lapse; nobody else was acting on those cameras meanwhile.
    expect(lonely.owned.size).toBe(0);
  });

  it("goes on beating when the database never answers a query: fences, then takes its cameras again", async () => {
    const using = new Map<string, Set<string>>();
    const errors: unknown[] = [];
    const pool = (await openPostgres(server.url)).pool;
    const held = new ClusterCoordinator({
      pool,
      instance: "node-held",
      ttlMs: TTL_MS,
      cameras: () => CAMERAS,
      onGained: (camera) => {
        using.get("node-held")?.add(camera);
      },
      onLost: (camera) => {
        using.get("node-held")?.delete(camera);
      },
      onError: (error) => errors.push(error),
    });
    using.set("node-held", new Set());
    const locker = await store.pool.connect();
    try {
      await held.start();
      await waitFor(() => ((using.get("node-held")?.size ?? 0) > 0 ? true : undefined), 10_000);
      // Another session locks the instances table: the heartbeat's first query waits on it, unanswered.
      await locker.query("BEGIN");
      await locker.query("LOCK TABLE cluster_instances IN ACCESS EXCLUSIVE MODE");
      await waitFor(
        () => (using.get("node-held")?.size === 0 && errors.length > 0 ? true : undefined),
        10_000,
        "the instance to fence itself while its heartbeat waits",
      );
      await locker.query("ROLLBACK");
      // Before: the heartbeat waited for ever and the instance never owned anything again.
      await waitFor(
        () => ((using.get("node-held")?.size ?? 0) > 0 ? true : undefined),
        10_000,
        "the heartbeat to go on and take the cameras again",
      );
    } finally {
      await locker.query("ROLLBACK").catch(() => undefined);
      locker.release();
      await held.stop();
      await pool.end();
    }
  });
});
