/**
 * WebRTC under the seccomp filter the systemd unit sets (RestrictAddressFamilies=, a filter on socket()):
 * with AF_NETLINK refused (the unit before issue 33) camgate cannot list the host's interfaces, says so in
 * one clear log line, and no viewer connects; with the unit's families (AF_NETLINK allowed, AF_PACKET and the
 * rest refused) a WebRTC viewer receives video. The filter is made by Debian's python3-seccomp
 * (test/contrib/restrict-families.py), camgate is the built CLI.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect } from "vitest";
import { type RunningEmulator, startEmulator } from "../../src/emulator/index.ts";
import { waitFor } from "../helpers/http.ts";
import { findTool, itWithTool } from "../helpers/system-tools.ts";
import { watchWebRtc } from "../helpers/webrtc.ts";

const BIN = resolve(import.meta.dirname, "../../bin/camgate.js");
const FILTER = resolve(import.meta.dirname, "restrict-families.py");
const python = () => findTool("python3+seccomp", ["/usr/bin/python3"], ["-c", "import seccomp"]);

describe("WebRTC under the unit's seccomp filter", () => {
  let emulator: RunningEmulator;
  let dir: string;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    emulator = await startEmulator({ profile: "amcrest-ip2m-841b", password: "seccomp-camera" });
    dir = mkdtempSync(join(tmpdir(), "camgate-seccomp-"));
    const camera = emulator.cameras[0];
    writeFileSync(
      join(dir, "camgate.yaml"),
      [
        'server: { listen: "127.0.0.1:0" }',
        "storage: { dir: ./data }",
        "recording: { clips: { enabled: false } }",
        "backup: { enabled: false }",
        "logSync: { enabled: false }",
        "events: { enabled: false }",
        "cameras:",
        `  - { id: yard, url: "${camera?.url}", username: admin, password: seccomp-camera, rtsp: { port: ${camera?.rtspPort} } }`,
        "",
      ].join("\n"),
    );
  });

  afterAll(async () => {
    for (const child of children)
      if (child.exitCode === null) {
        const exited = new Promise((done) => child.once("exit", done));
        child.kill("SIGTERM");
        await exited;
      }
    await emulator?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** camgate under the filter refusing `families`; its URL and every log line it writes. */
  async function serve(interpreter: string, families: string): Promise<{ url: string; log: string[] }> {
    const child = spawn(
      interpreter,
      [FILTER, families, "--", process.execPath, BIN, "serve", "-c", "camgate.yaml"],
      {
        cwd: dir,
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    children.push(child);
    const log: string[] = [];
    const url = await new Promise<string>((ready, fail) => {
      createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", (line) => {
        log.push(line);
        const record = JSON.parse(line) as { url?: string; webUi?: string };
        if (record.url && record.webUi) ready(record.url);
      });
      child.once("exit", (code) => fail(new Error(`camgate exited with ${code}: ${log.join("\n")}`)));
    });
    return { url, log };
  }

  itWithTool(
    "python3 with seccomp",
    python,
    "refused AF_NETLINK: one clear line, no viewer; allowed: video plays",
    async (interpreter) => {
      const refused = await serve(interpreter, "AF_NETLINK");
      expect(refused.log.join("\n")).toContain("WebRTC: this host's network interfaces cannot be listed");
      const stuck = await watchWebRtc(`${refused.url}/api/v1/cameras/yard/webrtc`);
      try {
        // Answered, but with no candidate camgate could have listed: nothing connects (hence the log line).
        expect(stuck.status).toBe(201);
        expect(stuck.body).not.toContain("a=candidate:");
      } finally {
        await stuck.close();
      }
      // The unit's own set: AF_NETLINK allowed, the families it leaves out refused.
      const allowed = await serve(interpreter, "AF_PACKET,AF_BLUETOOTH,AF_ALG");
      expect(allowed.log.join("\n")).not.toContain("cannot be listed");
      const viewer = await watchWebRtc(`${allowed.url}/api/v1/cameras/yard/webrtc`);
      try {
        expect(viewer.status).toBe(201);
        await waitFor(() => (viewer.videoPackets() > 20 ? true : undefined), 20_000, "WebRTC video");
      } finally {
        await viewer.close();
      }
    },
    90_000,
  );
});
