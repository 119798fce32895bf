/**
 * Failover as it would run: three `camgate serve` processes, one PostgreSQL, twelve emulated cameras that
 * count their event-stream connections. Every camera has one session at every sampled moment; one process
 * SIGKILLed: its cameras move to the others once their leases lapse; restarted under the same name: it gets
 * its share back by hand-over, still without a second session on any camera.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EmulatedCameraHandle, type RunningEmulator, startEmulator } from "../../src/emulator/index.ts";
import { freePort, waitFor } from "../helpers/http.ts";
import { locatePostgres, startTestPostgres, type TestPostgres } from "../helpers/postgres.ts";

const available = locatePostgres() !== undefined || process.env.CI === "true";
const BIN = resolve(import.meta.dirname, "../../bin/camgate.js");
const PASSWORD = "failover-camera-pw";
const IDS = Array.from({ length: 12 }, (_, i) => `cam${i}`);
const NAMES = ["node-1", "node-2", "node-3"];

let server: TestPostgres;
let dir: string;
const emulators: RunningEmulator[] = [];
const cameras = new Map<string, EmulatedCameraHandle>();
const processes = new Map<string, ChildProcess>();
const ports = new Map<string, number>();

beforeAll(async () => {
  if (!available) return;
  server = await startTestPostgres();
  dir = mkdtempSync(join(tmpdir(), "camgate-failover-"));
  for (const id of IDS) {
    const emulator = await startEmulator({ profile: "amcrest-ipm-723w", password: PASSWORD, rtsp: false });
    emulators.push(emulator);
    cameras.set(id, emulator.cameras[0] as EmulatedCameraHandle);
  }
  for (const name of NAMES) {
    const port = await freePort();
    ports.set(name, port);
    writeFileSync(
      join(dir, `${name}.yaml`),
      [
        `server: { listen: "127.0.0.1:${port}" }`,
        `storage: { dir: ./${name}, postgres: { url: "${server.url}", instance: ${name}, leaseSeconds: 3 } }`,
        "log: { level: info }",
        "events: { heartbeatSeconds: 1, snapshotCodes: [] }",
        "backup: { enabled: false }",
        "logSync: { enabled: false }",
        "recording: { clips: { enabled: false } }",
        "cameras:",
        ...IDS.map(
          (id) => `  - { id: ${id}, url: "${cameras.get(id)?.url}", username: admin, password: ${PASSWORD} }`,
        ),
        "",
      ].join("\n"),
    );
  }
}, 60_000);

afterAll(async () => {
  await Promise.all(
    [...processes.values()].map(async (child) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
    }),
  );
  await Promise.all(emulators.map((emulator) => emulator.close()));
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function start(name: string): Promise<ChildProcess> {
  return new Promise((ready, reject) => {
    const child = spawn(process.execPath, [BIN, "serve", "-c", `${name}.yaml`], {
      cwd: dir,
      stdio: ["ignore", "pipe", "pipe"],
    });
    processes.set(name, child);
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", (line) => {
      if (line.includes("camera(s) on")) ready(child);
    });
    child.stderr?.resume();
    child.once("exit", (code) => reject(new Error(`${name} exited with ${code}`)));
  });
}

interface ClusterView {
  instances: { id: string; cameras: string[] }[];
}

async function view(name: string): Promise<ClusterView> {
  return (await (await fetch(`http://127.0.0.1:${ports.get(name)}/api/v1/cluster`)).json()) as ClusterView;
}

let worst = 0;
/** Each camera's event-stream connections right now; the most ever seen is kept in `worst`. */
function sessions(): number[] {
  const now = IDS.map((id) => cameras.get(id)?.control.eventSubscribers() ?? 0);
  worst = Math.max(worst, ...now);
  return now;
}

describe.skipIf(!available)("three camgate processes on one PostgreSQL", () => {
  it("keep one session per camera through a SIGKILL and a restart", async () => {
    await Promise.all(NAMES.map((name) => start(name)));
    await waitFor(
      async () => {
        if (!sessions().every((n) => n === 1)) return undefined;
        const { instances } = await view("node-1");
        return instances.length === 3 && instances.every((i) => i.cameras.length > 0) ? true : undefined;
      },
      40_000,
      "every camera opened once, by three instances",
    );
    const before = await view("node-1");
    const victim = before.instances.find((i) => i.id === "node-2");
    const moved = victim?.cameras ?? [];
    expect(moved.length).toBeGreaterThan(0);

    processes.get("node-2")?.kill("SIGKILL");
    await new Promise((r) => processes.get("node-2")?.once("exit", r));
    await waitFor(
      async () => {
        if (!sessions().every((n) => n === 1)) return undefined;
        const { instances } = await view("node-1");
        const owners = instances.flatMap((i) => i.cameras);
        return !instances.some((i) => i.id === "node-2") && owners.length === IDS.length ? true : undefined;
      },
      40_000,
      "node-2's cameras taken over",
    );
    // Only the dead one's cameras moved.
    const after = await view("node-1");
    for (const survivor of ["node-1", "node-3"]) {
      const had = before.instances.find((i) => i.id === survivor)?.cameras ?? [];
      const has = after.instances.find((i) => i.id === survivor)?.cameras ?? [];
      expect(had.every((camera) => has.includes(camera))).toBe(true);
    }

    await start("node-2");
    await waitFor(
      async () => {
        if (!sessions().every((n) => n === 1)) return undefined;
        const { instances } = await view("node-3");
        const back = instances.find((i) => i.id === "node-2")?.cameras ?? [];
        return moved.every((camera) => back.includes(camera)) ? true : undefined;
      },
      40_000,
      "node-2's share handed back",
    );
    expect(worst).toBe(1);
  }, 150_000);
});
