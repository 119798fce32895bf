/**
 * `npm start` on a fresh clone serves the demo: the built CLI (what `npm start` runs) without a config file
 * starts the gateway and its emulated cameras; a snapshot and getDeviceType come through it; SIGTERM stops it.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, describe, expect, it } from "vitest";
import { startEmulator } from "../../src/emulator/index.ts";
import { locateFfprobe, probeVideo } from "../helpers/ffprobe.ts";
import { freePort } from "../helpers/http.ts";
import { runTool } from "../helpers/rtsp.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const BIN = join(ROOT, "bin/camgate.js");

interface Started {
  child: ChildProcess;
  /** The ready record: camgate's URL and the demo's "try" lines. */
  ready: Promise<{ url: string; webUi: string; try?: string[] }>;
  output: () => string;
  /** Every line camgate wrote to stdout. */
  stdoutLines: string[];
}

/** Starts the built CLI with stdout a pipe (as under systemd or Docker): stdout is JSON log lines only. */
function start(args: string[], cwd: string): Started {
  const child = spawn(process.execPath, [BIN, ...args], { cwd, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const stdoutLines: string[] = [];
  child.stderr?.on("data", (chunk) => {
    output += chunk;
  });
  const ready = new Promise<{ url: string; webUi: string; try?: string[] }>((resolveReady, reject) => {
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.on("line", (line) => {
      output += `${line}\n`;
      stdoutLines.push(line);
      const record = JSON.parse(line) as { url?: string; webUi?: string; try?: string[] };
      if (record.url && record.webUi) resolveReady(record as { url: string; webUi: string });
    });
    child.once("exit", (code) => reject(new Error(`camgate exited with ${code}: ${output}`)));
  });
  return { child, ready, output: () => output, stdoutLines };
}

/** Runs the built CLI to completion; its exit code and standard output. */
function runCli(
  args: string[],
  cwd: string,
  env?: NodeJS.ProcessEnv,
): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolveRun) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, ...(env ? { env } : {}) });
    let stdout = "";
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
    });
    child.once("exit", (code) => resolveRun({ code, stdout }));
  });
}

function stop(child: ChildProcess): Promise<number | null> {
  return new Promise((resolveExit) => {
    if (child.exitCode !== null) return resolveExit(child.exitCode);
    child.once("exit", (code) => resolveExit(code));
    child.kill("SIGTERM");
  });
}

describe("the built CLI", () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it("runs the demo without a config: snapshot and getDeviceType through the gateway, clean exit on SIGTERM", async () => {
    expect(existsSync(join(ROOT, "dist/cli/main.js")), "npm ci builds dist/ through prepare").toBe(true);
    const cwd = mkdtempSync(join(tmpdir(), "camgate-demo-"));
    dirs.push(cwd);
    const demo = start(["serve"], cwd);
    try {
      const ready = await demo.ready;
      const url = ready.url;
      expect(ready.webUi).toBe(`${url}/`);
      expect(ready.try?.[0]).toBe(`open ${url}/ in a browser (the web UI: live video, PTZ, events)`);
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const type = await fetch(`${url}/cam/dogs/cgi-bin/magicBox.cgi?action=getDeviceType`);
      expect(await type.text()).toBe("type=IP2M-841B\r\n");
      const snapshot = await fetch(`${url}/api/v1/cameras/front/snapshot.jpg`);
      expect(snapshot.headers.get("content-type")).toBe("image/jpeg");
      expect(Buffer.from(await snapshot.arrayBuffer()).subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
      // The banner's RTSP URL plays: camgate's RTSP server relays the emulated camera's H.264.
      const rtsp = /ffplay -rtsp_transport tcp (rtsp:\/\/127\.0\.0\.1:\d+\/dogs)/.exec(
        ready.try?.join("\n") ?? "",
      )?.[1];
      expect(rtsp).toBeDefined();
      // At the size its snapshot says (the demo's main streams are full size), with the audio its SDP offers.
      const dogsSnapshot = Buffer.from(
        await (await fetch(`${url}/api/v1/cameras/dogs/snapshot.jpg`)).arrayBuffer(),
      );
      const sof = dogsSnapshot.indexOf(Buffer.from([0xff, 0xc0]));
      expect([dogsSnapshot.readUInt16BE(sof + 7), dogsSnapshot.readUInt16BE(sof + 5)]).toEqual([1920, 1080]);
      if (locateFfprobe()) {
        expect(await probeVideo(rtsp ?? "")).toBe("h264,1920,1080");
        const audio = await runTool("ffprobe", [
          "-v",
          "error",
          "-rtsp_transport",
          "tcp",
          "-read_intervals",
          "%+3",
          "-select_streams",
          "a",
          "-count_packets",
          "-show_entries",
          "stream=codec_name,nb_read_packets",
          "-of",
          "csv=p=0",
          rtsp ?? "",
        ]);
        const [codec, packets] = audio.stdout.toString().trim().split(",");
        expect(codec).toBe("pcm_alaw");
        expect(Number(packets)).toBeGreaterThan(50);
      } else if (process.env.CI === "true") throw new Error("ffprobe is not installed");
    } finally {
      expect(await stop(demo.child)).toBe(0);
    }
    // Not a TTY: nothing but JSON on stdout (every line parsed above, the banner's too).
    expect(demo.stdoutLines.length).toBeGreaterThan(1);
    expect(demo.stdoutLines.every((line) => typeof JSON.parse(line).msg === "string")).toBe(true);
    expect(existsSync(join(cwd, "data", "signing.key"))).toBe(true);
  });

  it("config check names the line and field of an error and exits non-zero", async () => {
    const cwd = mkdtempSync(join(tmpdir(), "camgate-check-"));
    dirs.push(cwd);
    writeFileSync(
      join(cwd, "camgate.yaml"),
      "cameras:\n  - id: dogs\n    url: http://192.168.0.60\n    username: admin\n    password: ${NOPE_PASSWORD}\n",
    );
    const child = spawn(process.execPath, [BIN, "config", "check", "-c", "camgate.yaml"], {
      cwd,
      env: { PATH: process.env.PATH },
    });
    let stderr = "";
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    const code = await new Promise((resolveExit) => child.once("exit", resolveExit));
    expect(code).toBe(1);
    expect(stderr).toContain(
      "camgate.yaml:5: cameras[0].password: environment variable NOPE_PASSWORD is not set",
    );
  });

  it("config check --probe logs in to each camera once: model and firmware, or why not, and never twice after a refusal", async () => {
    const good = await startEmulator({ profile: "amcrest-ip2m-841b", password: "probe-pw" });
    const wrong = await startEmulator({ profile: "dahua-2024", password: "the-real-one" });
    const other = await startEmulator({ profile: "amcrest-ip2m-841b", password: "probe-pw" });
    const cwd = mkdtempSync(join(tmpdir(), "camgate-probe-"));
    dirs.push(cwd);
    try {
      const nobody = await freePort();
      writeFileSync(
        join(cwd, "camgate.yaml"),
        [
          "cameras:",
          `  - { id: dogs, url: "${good.cameras[0]?.url}", username: admin, password: probe-pw, rtsp: { port: ${good.cameras[0]?.rtspPort} } }`,
          `  - { id: yard, url: "${wrong.cameras[0]?.url}", username: admin, password: probe-pw }`,
          `  - { id: gone, url: "http://127.0.0.1:${nobody}", username: admin, password: probe-pw }`,
          `  - { id: cats, url: "${other.cameras[0]?.url}", username: admin, password: probe-pw, rtsp: { port: ${nobody} } }`,
          "",
        ].join("\n"),
      );
      const probe = () => runCli(["config", "check", "--probe", "-c", "camgate.yaml"], cwd);
      const first = await probe();
      expect(first.code).toBe(1);
      expect(first.stdout).toMatch(
        /dogs +ok +Amcrest IP2M-841B, firmware 2\.520\.AC00\.18\.R.*main stream H264 video/,
      );
      // Its HTTP answers but its RTSP port does not: said, with the key (issue 27).
      expect(first.stdout).toMatch(
        new RegExp(
          `cats +rtsp .*main stream cannot be read: .*RTSP unreachable on port ${nobody} \\(cameras\\.cats\\.rtsp\\)`,
        ),
      );
      expect(first.stdout).toMatch(/yard +auth-failed .*fix cameras\.yard\.username\/password/);
      expect(first.stdout).toMatch(/gone +unreachable /);
      expect(wrong.cameras[0]?.control.counters().authFailures).toBe(1);
      // The refusal is remembered: a second probe does not try the same wrong password again.
      const second = await probe();
      expect(second.stdout).toMatch(/yard +auth-failed .*next login attempt in/);
      expect(wrong.cameras[0]?.control.counters().authFailures).toBe(1);
    } finally {
      await good.close();
      await wrong.close();
      await other.close();
    }
  });

  it("snapshot and ptz talk to a configured camera", async () => {
    const emulator = await startEmulator({ profile: "amcrest-ip2m-841b", password: "cli-camera-pw" });
    const cwd = mkdtempSync(join(tmpdir(), "camgate-cli-"));
    dirs.push(cwd);
    try {
      const camera = emulator.cameras[0];
      if (!camera) throw new Error("no camera");
      writeFileSync(
        join(cwd, "camgate.yaml"),
        `cameras:\n  - { id: dogs, url: "${camera.url}", username: admin, password: "\${CAM_PW}" }\n`,
      );
      const cli = (args: string[]) => runCli(args, cwd, { PATH: process.env.PATH, CAM_PW: "cli-camera-pw" });
      const snapshot = await cli(["snapshot", "dogs", "-o", "dogs.jpg"]);
      expect(snapshot.code).toBe(0);
      expect(readFileSync(join(cwd, "dogs.jpg")).subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
      const before = camera.control.ptzPosition().pan;
      const move = await cli(["ptz", "dogs", "right", "--speed", "8", "--duration", "300"]);
      expect(move.code).toBe(0);
      expect(camera.control.ptzPosition().pan).toBeGreaterThan(before);
      const status = await cli(["ptz", "dogs", "status"]);
      expect(JSON.parse(status.stdout).status.moving).toBe(false);
    } finally {
      await emulator.close();
    }
  });

  it("backup run/list/diff and provision plan/apply work from the config file", async () => {
    const emulator = await startEmulator({ profile: "dahua-2024", password: "cli-backup-pw" });
    const cwd = mkdtempSync(join(tmpdir(), "camgate-cli-backup-"));
    dirs.push(cwd);
    try {
      const camera = emulator.cameras[0];
      if (!camera) throw new Error("no camera");
      writeFileSync(
        join(cwd, "camgate.yaml"),
        `cameras:\n  - { id: yard, url: "${camera.url}", username: admin, password: cli-backup-pw }\n`,
      );
      writeFileSync(
        join(cwd, "template.yaml"),
        'NTP.Enable: true\nGeneral.MachineName: "${camera.id} cam"\n',
      );
      const cli = (args: string[]) => runCli(args, cwd);
      expect((await cli(["backup", "run"])).stdout).toMatch(/^yard: committed [0-9a-f]{10}/);
      const planned = await cli(["provision", "plan", "-t", "template.yaml"]);
      expect(planned.stdout).toContain("NTP.Enable: false -> true");
      expect(planned.stdout).toContain("General.MachineName: 9B02F4AP_Z1A2B3 -> yard cam");
      const applied = await cli(["provision", "apply", "-t", "template.yaml"]);
      expect(applied.code).toBe(0);
      expect(applied.stdout).toContain("applied   NTP.Enable");
      expect(camera.control.config("General.MachineName")).toBe("yard cam");
      const list = await cli(["backup", "list"]);
      expect(list.stdout.split("\n").filter((line) => line.startsWith("  "))).toHaveLength(1);
      await cli(["backup", "run"]);
      const diff = await cli(["backup", "diff", "--camera", "yard"]);
      expect(diff.stdout).toContain("changed  NTP.Enable: false -> true");
    } finally {
      await emulator.close();
    }
  });

  it("audit lists a loose camera's findings and exits 1; the baseline fixes what keys fix, and says what is left", async () => {
    const emulator = await startEmulator({
      profile: "amcrest-ip2m-841b",
      password: "cli-audit-pw",
      security: "insecure",
      telnetPort: 0,
    });
    const cwd = mkdtempSync(join(tmpdir(), "camgate-cli-audit-"));
    dirs.push(cwd);
    try {
      const camera = emulator.cameras[0];
      if (!camera) throw new Error("no camera");
      const telnet = camera.camera.telnet?.listeningPort;
      writeFileSync(
        join(cwd, "camgate.yaml"),
        `cameras:\n  - { id: den, url: "${camera.url}", username: admin, password: cli-audit-pw, rtsp: { port: ${camera.rtspPort} }, audit: { ports: { telnet: ${telnet}, ssh: false, dvrip: false, https: false, rtmp: false } } }\n`,
      );
      const cli = (args: string[]) => runCli(args, cwd);
      const audited = await cli(["audit"]);
      expect(audited.code).toBe(1);
      expect(audited.stdout).toContain("[high] telnet-on: Telnet is on");
      expect(audited.stdout).toContain("seen: T2UServer.Enable=true");
      expect(audited.stdout).toContain(
        "IP2M-841B (IPC-HDW4200S-A), firmware 2.520.AC00.18.R built 2017-06-29",
      );
      const planned = await cli(["provision", "plan", "-t", "baseline"]);
      expect(planned.stdout).toContain("Telnet.Enable: true -> false");
      expect(camera.control.config("Telnet.Enable")).toBe(true);
      const applied = await cli(["provision", "apply", "-t", "baseline"]);
      expect(applied.code).toBe(0);
      expect(applied.stdout).toContain("applied   Telnet.Enable");
      expect(applied.stdout).toContain("audit after:");
      expect(applied.stdout).not.toContain("telnet-on");
      const json = await cli(["audit", "--json"]);
      const [report] = JSON.parse(json.stdout) as {
        findings: { id: string }[];
        doors: { ports: { telnet: string } };
      }[];
      expect(report?.findings.map((f) => f.id)).not.toContain("p2p-on");
      expect(report?.doors.ports.telnet).toBe("closed");
      // The camera saw no failed login from either command.
      expect(camera.control.counters().authFailures).toBe(0);
    } finally {
      await emulator.close();
    }
  });

  it("token create prints a token and a hash that verifies it", async () => {
    const child = spawn(process.execPath, [BIN, "token", "create"]);
    let stdout = "";
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
    });
    await new Promise((resolveExit) => child.once("exit", resolveExit));
    const token = /token: (\S+)/.exec(stdout)?.[1] ?? "";
    const hash = /hash:\s+(sha256:[0-9a-f]{64})/.exec(stdout)?.[1] ?? "";
    const { StoredSecret } = await import("../../src/server/auth/secrets.ts");
    expect(new StoredSecret(hash).matches(token)).toBe(true);
    expect(new StoredSecret(hash).matches(`${token}x`)).toBe(false);
  });
});
