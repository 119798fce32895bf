/**
 * Tests that need a system program (curl, ffprobe, python3 with requests, ...) run when it is there. On a
 * developer machine a missing program skips the test with the reason in its name; under CI=true it fails,
 * because CI installs every one of them and a skip there would hide a missing install step.
 */
import { spawnSync } from "node:child_process";
import { it } from "vitest";

const cache = new Map<string, string | undefined>();

/** Path of the first candidate command that works (exit 0 for `probeArgs`), or undefined. */
export function findTool(
  name: string,
  candidates: string[] = [name],
  probeArgs: string[] = ["--version"],
): string | undefined {
  if (cache.has(name)) return cache.get(name);
  let found: string | undefined;
  for (const candidate of candidates) {
    const result = spawnSync(candidate, probeArgs, { stdio: "ignore", timeout: 10_000 });
    if (result.status === 0) {
      found = candidate;
      break;
    }
  }
  cache.set(name, found);
  return found;
}

/** `python3` that can `import requests` (pyenv's or Debian's python3-requests). */
export function pythonWithRequests(): string | undefined {
  return findTool("python3+requests", ["python3", "/usr/bin/python3"], ["-c", "import requests"]);
}

type TestBody = (tool: string) => Promise<void> | void;

/** `it` that needs `tool` (as found by `locate`): skip with a reason, or fail under CI. */
export function itWithTool(
  tool: string,
  locate: () => string | undefined,
  name: string,
  body: TestBody,
  timeout?: number,
): void {
  const path = locate();
  if (path !== undefined) {
    it(name, () => body(path), timeout);
  } else if (process.env.CI === "true") {
    it(name, () => {
      throw new Error(`${tool} is not installed, and CI=true requires it (.ci/run installs it)`);
    });
  } else {
    it.skip(`${name} [skipped: ${tool} not found on this machine]`, () => undefined);
  }
}
