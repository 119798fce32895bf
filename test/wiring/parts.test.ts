/**
 * The part runner (issue 29), with no camera and no server: parts start in order and close in reverse, a
 * close that throws does not skip the others, a start that fails closes what started, and a camera hook
 * that fails is logged with the camera and the part while the other parts still open theirs.
 */
import pino from "pino";
import { describe, expect, it } from "vitest";
import type { CameraEntry } from "../../src/camera/registry.ts";
import { type Part, PartRunner } from "../../src/wiring/part.ts";

function logged() {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: "debug" }, { write: (line: string) => lines.push(JSON.parse(line)) });
  return { logger, lines };
}

/** A part that writes what happens to it into `journal`. */
function part(name: string, journal: string[], fail: Partial<Record<keyof Part, boolean>> = {}): Part {
  const step = (what: string, failing: boolean | undefined) => {
    journal.push(`${what} ${name}`);
    if (failing) throw new Error(`${name} ${what} broke`);
  };
  return {
    name,
    start: () => step("start", fail.start),
    close: () => step("close", fail.close),
    cameraOwned: (entry) => step(`own ${entry.id}`, fail.cameraOwned),
    cameraReleased: (camera) => step(`release ${camera}`, fail.cameraReleased),
  };
}

const camera = { id: "yard" } as CameraEntry;

describe("PartRunner", () => {
  it("starts in list order and closes in reverse", async () => {
    const journal: string[] = [];
    const runner = new PartRunner(logged().logger);
    for (const name of ["core", "relay", "http"]) runner.add(part(name, journal));
    await runner.start();
    await runner.close();
    expect(journal).toEqual([
      "start core",
      "start relay",
      "start http",
      "close http",
      "close relay",
      "close core",
    ]);
  });

  it("closes every part when one close throws, and logs it with the part's name", async () => {
    const journal: string[] = [];
    const { logger, lines } = logged();
    const runner = new PartRunner(logger);
    runner.add(part("core", journal));
    runner.add(part("events", journal, { close: true }));
    runner.add(part("http", journal));
    await runner.start();
    await runner.close();
    expect(journal.filter((line) => line.startsWith("close"))).toEqual([
      "close http",
      "close events",
      "close core",
    ]);
    expect(lines.find((line) => line.part === "events")?.msg).toBe("closing events failed");
  });

  it("closes what started, in reverse, when a start fails, and throws on", async () => {
    const journal: string[] = [];
    const runner = new PartRunner(logged().logger);
    runner.add(part("core", journal));
    runner.add(part("http", journal, { start: true }));
    runner.add(part("onvif", journal));
    await expect(runner.start()).rejects.toThrow("http start broke");
    expect(journal).toEqual(["start core", "start http", "close http", "close core"]);
  });

  it("opens a camera's work in order and closes it in reverse; a failing part is logged, the others go on", async () => {
    const journal: string[] = [];
    const { logger, lines } = logged();
    const runner = new PartRunner(logger);
    runner.add(part("ownership", journal));
    runner.add(part("passthrough", journal, { cameraOwned: true }));
    runner.add(part("onvif", journal, { cameraReleased: true }));
    await runner.cameraOwned(camera);
    await runner.cameraReleased("yard");
    expect(journal).toEqual([
      "own yard ownership",
      "own yard passthrough",
      "own yard onvif",
      "release yard onvif",
      "release yard passthrough",
      "release yard ownership",
    ]);
    const failures = lines.filter((line) => line.level === 40);
    expect(failures.map((line) => [line.camera, line.part])).toEqual([
      ["yard", "passthrough"],
      ["yard", "onvif"],
    ]);
  });
});
