/**
 * `camgate init` (the built CLI, answers piped in as a person would type them): the admin, a typed camera
 * checked with one login, and a camgate.yaml that `camgate config check` accepts, with the camera's password
 * in a file of its own and the admin's hashed; a wrong camera password is said, costs the camera one failed
 * login and is left out; an existing file is never overwritten. (The network search is tested in
 * test/lan/discovery.test.ts, inside network namespaces.)
 */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfigFile } from "../../src/config/load.ts";
import { type RunningEmulator, startEmulator } from "../../src/emulator/index.ts";

const BIN = resolve(import.meta.dirname, "../../bin/camgate.js");

function cli(
  args: string[],
  cwd: string,
  answers: string[],
): Promise<{ code: number | null; output: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, stdio: ["pipe", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk) => {
      output += chunk;
    });
    child.stderr.on("data", (chunk) => {
      output += chunk;
    });
    child.stdin.end(answers.map((line) => `${line}\n`).join(""));
    child.once("exit", (code) => done({ code, output }));
  });
}

describe("camgate init", () => {
  let emulator: RunningEmulator;
  let dir: string;

  beforeAll(async () => {
    emulator = await startEmulator({ profile: "dahua-2024", password: "camera-secret-1" });
    dir = mkdtempSync(join(tmpdir(), "camgate-init-"));
  });

  afterAll(async () => {
    await emulator?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("writes a config camgate accepts, with the camera checked and no secret in it", async () => {
    const camera = emulator.cameras[0];
    if (!camera) throw new Error("no camera");
    const work = join(dir, "ok");
    mkdirSync(work);
    const run = await cli(["init", "--no-discover"], work, [
      "alice",
      "short",
      "alice-init-password",
      camera.url,
      "porch",
      "admin",
      "camera-secret-1",
      String(camera.rtspPort),
      "",
    ]);
    expect(run.output).toContain("too short");
    expect(run.output).toMatch(/ok: Dahua IPC-HDW5831R-ZE, firmware .*main stream H264/);
    expect(run.output).toContain("Wrote camgate.yaml with 1 camera(s) and the admin alice");
    expect(run.code).toBe(0);
    const text = readFileSync(join(work, "camgate.yaml"), "utf8");
    expect(text).not.toContain("camera-secret-1");
    expect(text).not.toContain("alice-init-password");
    expect(text).toContain("password: ${file:camgate-secrets/camera-porch-password}");
    const config = loadConfigFile(join(work, "camgate.yaml"));
    expect(config.users).toEqual([expect.objectContaining({ name: "alice", role: "admin" })]);
    expect(config.cameras).toEqual([
      expect.objectContaining({ id: "porch", url: camera.url, password: "camera-secret-1" }),
    ]);
    const check = await cli(["config", "check", "-c", "camgate.yaml"], work, []);
    expect(check.code).toBe(0);
    // From the empty directory to the camera on camgate: serve the written file, sign in as the admin.
    const serve = spawn(process.execPath, [BIN, "serve", "-c", "camgate.yaml"], {
      cwd: work,
      stdio: ["ignore", "pipe", "pipe"],
    });
    try {
      const url = await new Promise<string>((ready, fail) => {
        const lines = createInterface({ input: serve.stdout });
        lines.on("line", (line) => {
          const record = JSON.parse(line) as { url?: string; webUi?: string };
          if (record.url && record.webUi) ready(record.url);
        });
        serve.once("exit", (code) => fail(new Error(`camgate serve exited with ${code}`)));
      });
      const listed = await fetch(`${url}/api/v1/cameras`, {
        headers: { authorization: `Basic ${Buffer.from("alice:alice-init-password").toString("base64")}` },
      });
      expect(listed.status).toBe(200);
      expect(((await listed.json()) as { cameras: { id: string }[] }).cameras.map((c) => c.id)).toEqual([
        "porch",
      ]);
    } finally {
      const exited = new Promise((done) => serve.once("exit", done));
      serve.kill("SIGTERM");
      await exited;
    }
  });

  it("a wrong camera password is said, costs one failed login, and is left out", async () => {
    const camera = emulator.cameras[0];
    if (!camera) throw new Error("no camera");
    const work = join(dir, "wrong");
    mkdirSync(work);
    const failures = camera.control.counters().authFailures;
    const run = await cli(["init", "--no-discover"], work, [
      "",
      "admin-init-password",
      camera.url,
      "",
      "admin",
      "not-the-password",
      String(camera.rtspPort),
      "n",
      "",
    ]);
    expect(run.output).toMatch(/auth-failed: /);
    expect(run.code).toBe(0);
    expect(camera.control.counters().authFailures).toBe(failures + 1);
    expect(loadConfigFile(join(work, "camgate.yaml")).cameras).toEqual([]);
  });

  it("never overwrites a config", async () => {
    const work = join(dir, "exists");
    mkdirSync(work);
    writeFileSync(join(work, "camgate.yaml"), "# mine\n");
    const run = await cli(["init", "--no-discover"], work, ["alice", "alice-init-password", ""]);
    expect(run.code).not.toBe(0);
    expect(run.output).toContain("exists already");
    expect(readFileSync(join(work, "camgate.yaml"), "utf8")).toBe("# mine\n");
  });
});
