/**
 * Camera leases on a real PostgreSQL (Debian's server, on a Unix socket): migrations safe when several
 * instances start at once, exactly one owner per camera under a race, a lapsed lease taken over with a
 * larger fencing token that the paused old owner can no longer pass, release for a quick hand-over, and
 * the database restarted under the instances.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CameraLeases } from "../../src/cluster/leases.ts";
import { openPostgres, POSTGRES_SCHEMA_VERSION, type PostgresStore } from "../../src/storage/postgres.ts";
import { waitFor } from "../helpers/http.ts";
import { locatePostgres, startTestPostgres, type TestPostgres } from "../helpers/postgres.ts";

// CI installs PostgreSQL (.ci/run): there a missing server is a failure, not a skip.
const available = locatePostgres() !== undefined || process.env.CI === "true";
let server: TestPostgres;
const stores: PostgresStore[] = [];

beforeAll(async () => {
  if (available) server = await startTestPostgres();
}, 60_000);

afterAll(async () => {
  await Promise.all(stores.map((store) => store.close().catch(() => undefined)));
  await server?.stop();
});

async function open(): Promise<PostgresStore> {
  const store = await openPostgres(server.url);
  stores.push(store);
  return store;
}

describe.skipIf(!available)("camera leases in PostgreSQL", () => {
  it("applies the schema once when three instances start at the same moment", async () => {
    const opened = await Promise.all([open(), open(), open()]);
    for (const store of opened) expect(store.schemaVersion).toBe(POSTGRES_SCHEMA_VERSION);
    const rows = await opened[0]?.pool.query("SELECT version FROM camgate_schema");
    expect(rows?.rows).toEqual([{ version: POSTGRES_SCHEMA_VERSION }]);
  });

  it("gives each camera exactly one owner when instances race for all of them", async () => {
    const store = await open();
    const instances = ["a", "b", "c"].map((id) => new CameraLeases(store.pool, `race-${id}`));
    const cameras = Array.from({ length: 12 }, (_, i) => `race-cam-${i}`);
    const outcomes = await Promise.all(
      instances.flatMap((leases) =>
        cameras.map(async (camera) => ({
          camera,
          owner: leases.instance,
          token: await leases.acquire(camera),
        })),
      ),
    );
    for (const camera of cameras) {
      const winners = outcomes.filter((o) => o.camera === camera && o.token !== undefined);
      expect(winners).toHaveLength(1);
    }
    const listed = (await instances[0]?.list())?.filter((lease) => lease.camera.startsWith("race-cam-"));
    expect(listed).toHaveLength(12);
  });

  it("renews with the same token; a lapsed lease goes to another with a larger one, fencing the old owner", async () => {
    const store = await open();
    const first = new CameraLeases(store.pool, "first", 300);
    const second = new CameraLeases(store.pool, "second", 300);
    const token = await first.acquire("yard");
    expect(token).toBeDefined();
    expect(await second.acquire("yard")).toBeUndefined();
    expect(await first.acquire("yard")).toBe(token);
    // The first owner stops renewing (paused, or dead): the second takes the camera once the lease lapses.
    const taken = await waitFor(() => second.acquire("yard"), 10_000, "the lapsed lease");
    expect(taken > (token as bigint)).toBe(true);
    expect(await first.stillHolds("yard", token as bigint)).toBe(false);
    expect(await first.acquire("yard")).toBeUndefined();
    expect(await second.stillHolds("yard", taken)).toBe(true);
    // A clean hand-over: released, the next one need not wait.
    await second.release("yard", taken);
    const again = await first.acquire("yard");
    expect(again !== undefined && again > taken).toBe(true);
  });

  it("keeps working when the database restarts under it", async () => {
    const store = await open();
    const leases = new CameraLeases(store.pool, "survivor", 60_000);
    const token = await leases.acquire("porch");
    expect(token).toBeDefined();
    await server.restart();
    // The pool drops the connections the restart broke and makes new ones; the lease (on disk) is there.
    const renewed = await waitFor(
      () => leases.acquire("porch").catch(() => undefined),
      20_000,
      "a connection after the restart",
    );
    expect(renewed).toBe(token);
  });
});
