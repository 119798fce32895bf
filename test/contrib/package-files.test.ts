/**
 * What the packed tarball's README points at is in the tarball: every `docs/...` page and `contrib/...` file
 * the README names (issue 33: the README linked to docs and service files the package did not contain).
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../..");

describe("the packed tarball", () => {
  it("contains every docs page and contrib file the README names", () => {
    const packed = JSON.parse(
      execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], {
        cwd: ROOT,
        encoding: "utf8",
      }),
    ) as { files: { path: string }[] }[];
    const files = new Set((packed[0]?.files ?? []).map((f) => f.path));
    const readme = readFileSync(resolve(ROOT, "README.md"), "utf8");
    // Paths the README names, not those inside test/ (the tests are not shipped).
    const named = [...readme.matchAll(/(?<![\w/])(docs\/[\w-]+\.md|contrib\/[\w/.-]+)/g)].map((m) =>
      (m[1] as string).replace(/[.]$/, ""),
    );
    expect(named.length).toBeGreaterThan(5);
    const missing = named.filter((path) => !files.has(path) && ![...files].some((f) => f.startsWith(path)));
    expect(missing).toEqual([]);
  });
});
