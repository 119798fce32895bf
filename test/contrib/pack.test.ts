/**
 * `npm pack` gives a package that installs globally on a clean prefix (from the npm registry, the direct
 * dependencies at their pinned versions) and runs: `camgate --version`, `camgate serve` on the demo
 * with the web UI, and `camgate emulate`. The Dockerfile in contrib/docker uses these same steps. The
 * install compiles better-sqlite3 when no prebuilt binary can be fetched (about 2 minutes on 2 cores).
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, describe, expect, it } from "vitest";
import { waitFor } from "../helpers/http.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const VERSION = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version;

/** Starts an installed command; collects its stdout lines; stops it with SIGTERM. */
function run(command: string, args: string[], cwd: string) {
  const child: ChildProcess = spawn(command, args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
  const lines: string[] = [];
  let stderr = "";
  child.stderr?.on("data", (chunk) => {
    stderr += chunk;
  });
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", (line) => lines.push(line));
  const stop = () =>
    new Promise<number | null>((resolveExit) => {
      if (child.exitCode !== null) return resolveExit(child.exitCode);
      child.once("exit", (code) => resolveExit(code));
      child.kill("SIGTERM");
    });
  return { child, lines, stderr: () => stderr, stop };
}

describe("the npm package", () => {
  const dir = mkdtempSync(join(tmpdir(), "camgate-pack-"));
  const prefix = join(dir, "prefix");
  const camgate = join(prefix, "bin", "camgate");
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("installs globally from npm pack and runs --version, the demo with its web UI, and the emulator", async () => {
    execFileSync("npm", ["pack", "--pack-destination", dir], { cwd: ROOT, stdio: "ignore" });
    const tarball = readdirSync(dir).find((name) => name.endsWith(".tgz"));
    expect(tarball).toBe(`camgate-${VERSION}.tgz`);
    const listing = execFileSync("tar", ["tzf", join(dir, tarball ?? "")], { encoding: "utf8" }).split("\n");
    expect(listing).toContain("package/web/dist/index.html");
    expect(listing.some((path) => path.startsWith("package/src/") || path.startsWith("package/test/"))).toBe(
      false,
    );
    execFileSync(
      "npm",
      ["install", "-g", "--prefix", prefix, "--no-audit", "--no-fund", join(dir, tarball ?? "")],
      {
        cwd: dir,
        stdio: "ignore",
        // node-gyp builds better-sqlite3 on every core.
        env: { ...process.env, JOBS: "max" },
      },
    );
    // The direct dependencies at exactly the pinned versions (the pins are what keep Node 20 working; a
    // global install resolves transitive ones afresh, as it ignores lock files).
    const installed = join(prefix, "lib", "node_modules", "camgate");
    const pinned = (
      JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
        dependencies: Record<string, string>;
      }
    ).dependencies;
    const versionOf = (name: string) =>
      (
        JSON.parse(readFileSync(join(installed, "node_modules", name, "package.json"), "utf8")) as {
          version: string;
        }
      ).version;
    expect(Object.fromEntries(Object.keys(pinned).map((name) => [name, versionOf(name)]))).toEqual(pinned);

    expect(execFileSync(camgate, ["--version"], { encoding: "utf8" })).toBe(`${VERSION}\n`);

    const work = mkdtempSync(join(dir, "demo-"));
    const demo = run(camgate, ["serve"], work);
    try {
      const ready = await waitFor(
        () =>
          demo.lines.map((line) => JSON.parse(line) as { url?: string; webUi?: string }).find((r) => r.webUi),
        30_000,
        `the demo to start (${demo.stderr()})`,
      );
      const page = await fetch(ready.webUi ?? "");
      expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8");
      expect(await page.text()).toContain("<script");
      const cameras = (await (await fetch(`${ready.url}/api/v1/cameras`)).json()) as { cameras: unknown[] };
      expect(cameras.cameras.length).toBe(2);
    } finally {
      expect(await demo.stop()).toBe(0);
    }

    const emulator = run(camgate, ["emulate", "--profile", "dahua-2024", "--password", "pack-pw"], work);
    try {
      const line = await waitFor(
        () => emulator.lines.find((l) => l.startsWith("emulated")),
        20_000,
        "the emulator",
      );
      const url = /on (http:\/\/127\.0\.0\.1:\d+)/.exec(line)?.[1];
      const answer = await fetch(`${url}/cgi-bin/magicBox.cgi?action=getDeviceType`);
      expect(answer.status).toBe(401);
      expect(answer.headers.get("www-authenticate")).toMatch(/^Digest realm=/);
    } finally {
      expect(await emulator.stop()).toBe(0);
    }
  }, 600_000);
});
