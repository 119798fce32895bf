/**
 * `npm start` builds only when a source changed: right after `npm test`'s own build the stamp is fresh, so
 * the build does not touch its own inputs (a build that did would rebuild on every start).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../..");
const check = () =>
  spawnSync(process.execPath, ["scripts/build-if-stale.mjs", "--check"], { cwd: ROOT, encoding: "utf8" });

describe("build-if-stale", () => {
  it("finds the build fresh after a build, so npm start goes straight to the server", () => {
    // Run directly (npx vitest) after an edit, the suite did not build: build as npm start would.
    if (check().status !== 0)
      execFileSync(process.execPath, ["scripts/build-if-stale.mjs"], { cwd: ROOT, stdio: "ignore" });
    const result = check();
    expect(result.stdout).toBe("fresh\n");
    expect(result.status).toBe(0);
  }, 120_000);
});
