/**
 * Memory bounded by what is held, measured on the gateway's own process (issue 28): camgate runs as a
 * service does (`camgate serve`), one camera's RTSP is a hostile server that sends 300 MB of small packets
 * each pinned in a padded 60 kB socket chunk (1-byte FU-A fragments, tiny P pictures after a keyframe),
 * while a hostile client floods, trickles and garbles camgate's RTSP port and an honest viewer watches.
 * The gateway's resident memory may grow by less than a set bound; before the fix it grew with what was
 * sent (+640 MB per 500 MB). Not a timing assert: bytes, on the process.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { type RunningEmulator, startEmulator } from "../../src/emulator/index.ts";
import { HostileCamera, HostileRtspClient } from "../helpers/hostile-rtsp.ts";
import { freePort, waitFor } from "../helpers/http.ts";
import { RawRtspClient } from "../helpers/rtsp.ts";

const BIN = resolve(import.meta.dirname, "../../bin/camgate.js");
const SENT_BYTES = 300 * 1024 * 1024;
/** What the gateway may grow by while 300 MB go through it (before the fix: hundreds of MB). */
const GROWTH_BOUND_MB = 100;

/** The process's resident memory in MB (0 once it is gone). */
function rssMb(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return Number(match?.[1] ?? 0) / 1024;
  } catch {
    return 0;
  }
}

describe("a hostile camera and a hostile client against the gateway's memory", () => {
  let emulator: RunningEmulator;
  let camera: HostileCamera;
  let dir = "";
  let child: ChildProcess | undefined;
  let rtspPort = 0;
  const lines: string[] = [];

  beforeAll(async () => {
    emulator = await startEmulator({ profile: "amcrest-ip2m-841b", password: "hostile-pw", rtsp: false });
    camera = new HostileCamera(SENT_BYTES);
    await camera.start();
    dir = mkdtempSync(join(tmpdir(), "camgate-hostile-"));
    const port = await freePort();
    rtspPort = await freePort();
    writeFileSync(
      join(dir, "camgate.yaml"),
      stringify({
        server: { listen: `127.0.0.1:${port}`, rtsp: { listen: `127.0.0.1:${rtspPort}` } },
        storage: { dir: "./data" },
        cameras: [
          {
            id: "hostile",
            url: emulator.cameras[0]?.url,
            username: "admin",
            password: "hostile-pw",
            rtsp: { port: camera.port },
          },
        ],
      }),
    );
    child = spawn(process.execPath, [BIN, "serve", "-c", "camgate.yaml"], {
      cwd: dir,
      stdio: ["ignore", "pipe", "pipe"],
    });
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", (line) => lines.push(line));
    await waitFor(() => (lines.some((l) => l.includes('"webUi"')) ? true : undefined), 20_000, "camgate");
  });

  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((done) => child?.once("exit", done));
      child.kill("SIGTERM");
      await exited;
    }
    await camera?.stop();
    await emulator?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it(`grows by less than ${GROWTH_BOUND_MB} MB while 300 MB of hostile RTSP goes through, and stays up`, async () => {
    const pid = child?.pid ?? 0;
    const viewer = new RawRtspClient(rtspPort);
    const attacker = new HostileRtspClient(rtspPort);
    let peak = 0;
    const sampler = setInterval(() => {
      peak = Math.max(peak, rssMb(pid));
    }, 100);
    try {
      await viewer.play(`rtsp://127.0.0.1:${rtspPort}/hostile`);
      // The baseline once the stream runs (the first keyframe through, the hub and clip ring made).
      await waitFor(() => (camera.sent > 20 * 1024 * 1024 ? true : undefined), 30_000, "the first 20 MB");
      const baseline = rssMb(pid);
      peak = baseline;
      attacker.start();
      // Sent, or the gateway is gone (then the assertions below say so).
      await waitFor(
        () => (camera.sent >= SENT_BYTES || child?.exitCode !== null ? true : undefined),
        120_000,
        "300 MB sent",
      );
      expect(child?.exitCode).toBeNull();
      await attacker.stop();
      clearInterval(sampler);
      peak = Math.max(peak, rssMb(pid));
      process.stdout.write(
        `hostile memory: baseline ${baseline.toFixed(0)} MB, peak ${peak.toFixed(0)} MB, ${attacker.rounds} attacker rounds\n`,
      );
      expect(peak - baseline).toBeLessThan(GROWTH_BOUND_MB);
      expect(attacker.rounds).toBeGreaterThan(0);
      // Still serving: an honest OPTIONS is answered, and the process never exited.
      const probe = new RawRtspClient(rtspPort);
      try {
        expect((await probe.request("OPTIONS", `rtsp://127.0.0.1:${rtspPort}/hostile`)).status).toBe(200);
      } finally {
        probe.close();
      }
      expect(child?.exitCode).toBeNull();
    } finally {
      clearInterval(sampler);
      await attacker.stop();
      viewer.close();
    }
  }, 180_000);
});
