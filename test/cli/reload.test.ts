/**
 * Config reload without a restart, on the built CLI as a service manager runs it: SIGHUP re-reads the file,
 * a camera added starts, a renamed one keeps its connections, a viewer of an unchanged camera keeps getting
 * frames from the same camera connection; a file that does not validate is refused with its line and field
 * and the running config stays; `POST /api/v1/config/reload` does the same for admins.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningEmulator, startEmulator } from "../../src/emulator/index.ts";
import { freePort, waitFor } from "../helpers/http.ts";
import { jpegsOf } from "../helpers/mjpeg.ts";
import { openStream } from "../helpers/stream.ts";

const BIN = resolve(import.meta.dirname, "../../bin/camgate.js");
const MJPEG_PATH = "/cgi-bin/mjpg/video.cgi";

describe("config reload", () => {
  let emulator: RunningEmulator;
  let dir = "";
  let port = 0;
  let child: ChildProcess | undefined;
  const records: Record<string, unknown>[] = [];

  const yaml = (cameras: string[], extra = "") =>
    [
      `server: { listen: "127.0.0.1:${port}" }`,
      "storage: { dir: ./data }",
      extra,
      "cameras:",
      ...cameras,
      "",
    ].join("\n");
  const camera = (id: string, index: number, name = id) =>
    `  - { id: ${id}, name: "${name}", url: "${emulator.cameras[index]?.url}", username: admin, password: reload-pw }`;
  const cameraIds = async () => {
    const body = (await (await fetch(`http://127.0.0.1:${port}/api/v1/cameras`)).json()) as {
      cameras: { id: string; name: string }[];
    };
    return body.cameras.map((c) => `${c.id}:${c.name}`);
  };

  beforeAll(async () => {
    emulator = await startEmulator({ profile: "amcrest-ip2m-841b", password: "reload-pw", count: 2 });
    dir = mkdtempSync(join(tmpdir(), "camgate-reload-"));
    port = await freePort();
    writeFileSync(join(dir, "camgate.yaml"), yaml([camera("dogs", 0)]));
    child = spawn(process.execPath, [BIN, "serve", "-c", "camgate.yaml"], {
      cwd: dir,
      stdio: ["ignore", "pipe", "pipe"],
    });
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", (line) => {
      records.push(JSON.parse(line) as Record<string, unknown>);
    });
    await waitFor(() => records.find((r) => r.webUi), 20_000, "camgate to start");
  });

  afterAll(async () => {
    if (child && child.exitCode === null) {
      child.kill("SIGTERM");
      await new Promise((r) => child?.once("exit", r));
    }
    await emulator?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("SIGHUP adds a camera and renames one while a viewer of it keeps its frames and its camera connection", async () => {
    const dogs = emulator.cameras[0];
    const viewer = await openStream(
      `http://127.0.0.1:${port}`,
      "/api/v1/cameras/dogs/stream.mjpeg",
      undefined,
    );
    try {
      await viewer.waitUntil((bytes) => jpegsOf(bytes).length >= 2, 10_000, "frames before the reload");
      const opened = dogs?.control.counters().requestsByPath[MJPEG_PATH] ?? 0;
      expect(opened).toBeGreaterThan(0);
      writeFileSync(join(dir, "camgate.yaml"), yaml([camera("dogs", 0, "Dog crates"), camera("yard", 1)]));
      child?.kill("SIGHUP");
      const reloaded = await waitFor(
        () => records.find((r) => r.msg === "config reloaded"),
        10_000,
        "the reload",
      );
      expect(reloaded).toMatchObject({ added: ["yard"], renamed: ["dogs"], removed: [], reconfigured: [] });
      expect(await cameraIds()).toEqual(["dogs:Dog crates", "yard:yard"]);
      const before = jpegsOf(viewer.bytes()).length;
      await viewer.waitUntil(
        (bytes) => jpegsOf(bytes).length >= before + 2,
        10_000,
        "frames after the reload",
      );
      expect(dogs?.control.counters().requestsByPath[MJPEG_PATH]).toBe(opened);
      const snapshot = await fetch(`http://127.0.0.1:${port}/api/v1/cameras/yard/snapshot.jpg`);
      expect(snapshot.status).toBe(200);
    } finally {
      viewer.close();
    }
  });

  it("refuses a file that does not validate, with its line and field, and keeps the running config", async () => {
    writeFileSync(
      join(dir, "camgate.yaml"),
      yaml([
        camera("dogs", 0, "Dog crates"),
        `  - { id: yard, url: "${emulator.cameras[1]?.url}", username: admin, pasword: x }`,
      ]),
    );
    child?.kill("SIGHUP");
    const refused = await waitFor(
      () => records.find((r) => r.msg === "config reload refused; the running config stays"),
      10_000,
      "the refusal",
    );
    expect((refused.problems as string[]).join("\n")).toMatch(/camgate\.yaml:6: cameras\[1\]/);
    expect(await cameraIds()).toEqual(["dogs:Dog crates", "yard:yard"]);
  });

  it("POST /api/v1/config/reload removes a camera, and answers 422 invalid-config for a bad file", async () => {
    writeFileSync(join(dir, "camgate.yaml"), yaml([camera("dogs", 0, "Dog crates")]));
    const removed = await fetch(`http://127.0.0.1:${port}/api/v1/config/reload`, { method: "POST" });
    expect(removed.status).toBe(200);
    expect(await removed.json()).toMatchObject({ removed: ["yard"], added: [] });
    expect(await cameraIds()).toEqual(["dogs:Dog crates"]);
    expect((await fetch(`http://127.0.0.1:${port}/api/v1/cameras/yard`)).status).toBe(404);
    writeFileSync(join(dir, "camgate.yaml"), yaml([camera("dogs", 0)], "relay: { lingerMs: -5 }"));
    const bad = await fetch(`http://127.0.0.1:${port}/api/v1/config/reload`, { method: "POST" });
    expect(bad.status).toBe(422);
    expect(await bad.json()).toMatchObject({
      code: "invalid-config",
      detail: expect.stringMatching(/relay\.lingerMs/),
    });
    expect(await cameraIds()).toEqual(["dogs:Dog crates"]);
  });
});
