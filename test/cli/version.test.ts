/** `camgate --version` (and `-V`) prints the package's version: the built CLI, as an installed one runs. */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../..");
const BIN = join(ROOT, "bin/camgate.js");
const run = promisify(execFile);

it("prints the version in package.json, and nothing else", async () => {
  const version = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string })
    .version;
  for (const flag of ["--version", "-V"]) {
    const { stdout, stderr } = await run(process.execPath, [BIN, flag], { timeout: 20_000 });
    expect(stdout).toBe(`${version}\n`);
    expect(stderr).toBe("");
  }
});
