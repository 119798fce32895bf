/**
 * A recording cut short by SIGKILL: the next start repairs it. The `.part` file is cut after its last
 * complete fragment (so at most the one being written is lost), gets the duration of what it holds and its
 * final name; the index says `done`; ffprobe reads the file. Runs the built CLI, as a service manager would.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, describe, expect, it } from "vitest";
import { type RunningEmulator, startEmulator } from "../../src/emulator/index.ts";
import { locateFfprobe } from "../helpers/ffprobe.ts";
import { freePort, waitFor } from "../helpers/http.ts";
import { runTool } from "../helpers/rtsp.ts";

const BIN = resolve(import.meta.dirname, "../../bin/camgate.js");
/** The largest fragment of the counter stream: an I_PCM keyframe of 640x360 (about 350 KB). */
const LARGEST_FRAGMENT = 400_000;

function filesUnder(dir: string): string[] {
  try {
    return readdirSync(dir, { recursive: true, encoding: "utf8" }).map((name) => join(dir, name));
  } catch {
    return [];
  }
}

describe("recording across a crash", () => {
  let emulator: RunningEmulator | undefined;
  let child: ChildProcess | undefined;
  const dir = mkdtempSync(join(tmpdir(), "camgate-rec-crash-"));

  afterAll(async () => {
    if (child && child.exitCode === null) {
      child.kill("SIGTERM");
      await new Promise((r) => child?.once("exit", r));
    }
    await emulator?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const logged: string[] = [];
  const start = (): Promise<{ process: ChildProcess; url: string }> =>
    new Promise((resolveStart, reject) => {
      const process = spawn(globalThis.process.execPath, [BIN, "serve", "-c", "camgate.yaml"], {
        cwd: dir,
        stdio: ["ignore", "pipe", "pipe"],
      });
      createInterface({ input: process.stdout as NodeJS.ReadableStream }).on("line", (line) => {
        logged.push(line);
        const record = JSON.parse(line) as { url?: string; webUi?: string };
        if (record.webUi && record.url) resolveStart({ process, url: record.url });
      });
      process.once("exit", (code) => reject(new Error(`camgate exited with ${code}`)));
    });

  it("SIGKILL mid-clip, then a restart: the clip is repaired, at most one fragment lost", async () => {
    emulator = await startEmulator({
      profile: "amcrest-ip2m-841b",
      password: "crash-pw",
      rtsp: { mainVideo: "counter" },
    });
    const camera = emulator.cameras[0];
    const port = await freePort();
    writeFileSync(
      join(dir, "camgate.yaml"),
      [
        `server: { listen: "127.0.0.1:${port}" }`,
        "storage: { dir: ./data }",
        "events: { heartbeatSeconds: 1, snapshotCodes: [] }",
        "recording: { clips: { preRollSeconds: 1, postRollSeconds: 1, maxSeconds: 600 } }",
        `cameras: [{ id: door, url: "${camera?.url}", username: admin, password: crash-pw, rtsp: { port: ${camera?.rtspPort} } }]`,
        "",
      ].join("\n"),
    );
    const first = await start();
    child = first.process;
    await waitFor(
      async () => {
        const body = (await (await fetch(`${first.url}/api/v1/cameras/door/streams`)).json()) as {
          streams: { name: string; state: string; fps?: number }[];
        };
        return body.streams.some((s) => s.name === "main" && s.state === "live") ? true : undefined;
      },
      20_000,
      "the main stream",
    );
    await waitFor(
      () => (camera?.control.eventSubscribers() === 1 ? true : undefined),
      10_000,
      "the event stream",
    );
    camera?.control.trigger("VideoMotion", "Start");
    const recordings = join(dir, "data", "recordings");
    const part = await waitFor(
      () =>
        filesUnder(recordings).find(
          (file) => file.endsWith(".part") && statSync(file).size > LARGEST_FRAGMENT + 50_000,
        ),
      30_000,
      "the clip to grow past one keyframe",
    ).catch((error: unknown) => {
      throw new Error(
        `${String(error)}: ${filesUnder(recordings).join(", ")}\n${logged.filter((l) => !l.includes('"level":30')).join("\n")}`,
      );
    });
    child.kill("SIGKILL");
    await new Promise((r) => child?.once("exit", r));
    const killedSize = statSync(part).size;

    const second = await start();
    child = second.process;
    const list = (await (
      await fetch(`${second.url}/api/v1/incidents?camera=door&code=VideoMotion`)
    ).json()) as {
      incidents: { id: string; clip: string | null }[];
    };
    const clipUrl = list.incidents[0]?.clip;
    expect(clipUrl).toBeTruthy();
    const final = part.slice(0, -".part".length);
    expect(filesUnder(recordings).filter((file) => file.endsWith(".part"))).toEqual([]);
    const repairedSize = statSync(final).size;
    expect(repairedSize).toBeLessThanOrEqual(killedSize);
    expect(killedSize - repairedSize).toBeLessThan(LARGEST_FRAGMENT);
    const served = Buffer.from(await (await fetch(`${second.url}${clipUrl}`)).arrayBuffer());
    expect(served.length).toBe(repairedSize);
    const ffprobe = locateFfprobe();
    if (!ffprobe) {
      if (process.env.CI === "true") throw new Error("ffprobe is not installed");
      return;
    }
    const probe = await runTool(ffprobe, [
      "-v",
      "error",
      "-show_entries",
      "format=duration",
      "-of",
      "csv=p=0",
      final,
    ]);
    expect(probe.code).toBe(0);
    expect(Number(probe.stdout.toString())).toBeGreaterThan(0.5);
  }, 90_000);
});
