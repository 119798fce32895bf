/**
 * Two camgate instances sharing four emulated cameras through one PostgreSQL (Debian's): each camera is
 * opened by exactly one instance (the emulators count event-stream connections and would see a second),
 * the cameras spread over both, and when one instance leaves, the other takes its cameras without a
 * moment of two sessions on any camera.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EmulatedCameraHandle, type RunningEmulator, startEmulator } from "../../src/emulator/index.ts";
import { CAMERA_PASSWORD, startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { waitFor } from "../helpers/http.ts";
import { locatePostgres, startTestPostgres, type TestPostgres } from "../helpers/postgres.ts";

const available = locatePostgres() !== undefined || process.env.CI === "true";
const IDS = ["north", "south", "east", "west"];

let server: TestPostgres;
const emulators: RunningEmulator[] = [];
const handles = new Map<string, EmulatedCameraHandle>();
const gateways: TestGateway[] = [];

beforeAll(async () => {
  if (!available) return;
  server = await startTestPostgres();
  for (const id of IDS) {
    const emulator = await startEmulator({ profile: "amcrest-ipm-723w", password: CAMERA_PASSWORD });
    emulators.push(emulator);
    handles.set(id, emulator.cameras[0] as EmulatedCameraHandle);
  }
}, 60_000);

afterAll(async () => {
  for (const gateway of gateways) await gateway.close().catch(() => undefined);
  await Promise.all(emulators.map((emulator) => emulator.close()));
  await server?.stop();
});

function start(instance: string): Promise<TestGateway> {
  return startTestGateway({
    emulators: handles,
    cameras: IDS.map((id) => ({ id, profile: "amcrest-ipm-723w" })),
    storage: { postgres: { url: server.url, instance, leaseSeconds: 3 } },
    events: { enabled: true, heartbeatSeconds: 1, snapshotCodes: [] },
  });
}

/** Each camera's event-stream connections, as the cameras see them. */
const sessions = () => IDS.map((id) => handles.get(id)?.control.eventSubscribers() ?? 0);
const owned = (gateway: TestGateway) => gateway.camgate.cameras.list().map((entry) => entry.id);

describe.skipIf(!available)("several camgate instances on one PostgreSQL", () => {
  it("open each camera once between them, and hand them over when one leaves", async () => {
    const a = await start("camgate-a");
    gateways.push(a);
    const b = await start("camgate-b");
    gateways.push(b);
    let worst = 0;
    await waitFor(
      () => {
        const now = sessions();
        worst = Math.max(worst, ...now);
        const both = [...owned(a), ...owned(b)];
        return now.every((n) => n === 1) && both.length === 4 && owned(a).length > 0 && owned(b).length > 0
          ? true
          : undefined;
      },
      30_000,
      "every camera opened by one instance, and both instances owning some",
    );
    expect(new Set([...owned(a), ...owned(b)]).size).toBe(4);

    // camgate-b leaves (a clean stop): camgate-a takes its cameras, one session each all along.
    const moved = owned(b);
    await b.close();
    gateways.splice(gateways.indexOf(b), 1);
    await waitFor(
      () => {
        const now = sessions();
        worst = Math.max(worst, ...now);
        return owned(a).length === 4 && now.every((n) => n === 1) ? true : undefined;
      },
      30_000,
      "camgate-a owning all four",
    );
    expect(moved.every((id) => owned(a).includes(id))).toBe(true);
    expect(worst).toBeLessThanOrEqual(1);
    const view = (await (await fetch(`${a.url}/api/v1/cluster`)).json()) as {
      enabled: boolean;
      instances: { id: string; cameras: string[] }[];
      leases: { camera: string; owner: string; ageSeconds: number }[];
    };
    expect(view.enabled).toBe(true);
    expect(view.instances).toEqual([expect.objectContaining({ id: "camgate-a", cameras: [...IDS].sort() })]);
    expect(view.leases.map((lease) => lease.owner)).toEqual([
      "camgate-a",
      "camgate-a",
      "camgate-a",
      "camgate-a",
    ]);
  }, 90_000);
});
