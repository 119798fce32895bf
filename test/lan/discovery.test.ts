/**
 * Discovery across a network: two hosts in network namespaces this test makes (a veth pair, nothing else),
 * emulated cameras answering DHDiscover and WS-Discovery on one (`camgate emulate --discovery`), and on the
 * other `camgate discover` (the built CLI), rroller/dahua's DHDiscover probe and the npm `onvif` package's
 * WS-Discovery (clients camgate did not write). Skipped with the reason where namespaces cannot be made,
 * required under CI=true.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DiscoveryResult } from "../../src/camera/discovery.ts";
import { loadConfigFile } from "../../src/config/load.ts";
import { type Lan, makeLan, netnsUnavailable } from "../helpers/netns.ts";

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, "../..");
const BIN = join(ROOT, "bin/camgate.js");
const PEER = resolve(import.meta.dirname, "../peers/rroller-dahua/run_discovery.py");
const HTTP_PORT = 8080;
const OTHER_PORT = 8090;

const unavailable = netnsUnavailable();
if (unavailable && process.env.CI === "true")
  throw new Error(`network namespaces are required under CI=true: ${unavailable}`);

describe.skipIf(unavailable !== undefined)(
  `discovery on a LAN of namespaces${unavailable ? ` [skipped: ${unavailable}]` : ""}`,
  () => {
    let lan: Lan;
    let emulator: ChildProcess | undefined;
    let other: ChildProcess | undefined;
    let otherSerial: string | undefined;
    const serials: string[] = [];
    const rtspPorts: number[] = [];
    const dir = mkdtempSync(join(tmpdir(), "camgate-discover-"));

    beforeAll(async () => {
      lan = await makeLan();
      const [, cameraHost] = lan.hosts;
      emulator = spawn(
        "ip",
        lan.exec(cameraHost.ns, [
          process.execPath,
          BIN,
          "emulate",
          "--profile",
          "dahua-2024",
          "--count",
          "2",
          "--listen",
          `${cameraHost.address}:${HTTP_PORT}`,
          "--discovery",
        ]),
        { stdio: ["ignore", "pipe", "pipe"] },
      );
      let stderr = "";
      emulator.stderr?.on("data", (chunk) => {
        stderr += chunk;
      });
      // Ready once it has said where both cameras are.
      await new Promise<void>((ready, fail) => {
        const lines = createInterface({ input: emulator?.stdout as NodeJS.ReadableStream });
        lines.on("line", (line) => {
          const serial = /^emulated \S+ (\S+) on/.exec(line)?.[1];
          if (serial) serials.push(serial);
          const rtsp = /RTSP on rtsp:\/\/[^:]+:(\d+)\//.exec(line)?.[1];
          if (rtsp) rtspPorts.push(Number(rtsp));
          if (serials.length === 2) ready();
        });
        emulator?.once("exit", (code) => fail(new Error(`the emulator exited with ${code}: ${stderr}`)));
      });
      // Another make on the same host (its discovery sockets share the ports, as two processes may: each
      // gets the multicast and broadcast probes).
      other = spawn(
        "ip",
        lan.exec(cameraHost.ns, [
          process.execPath,
          BIN,
          "emulate",
          "--profile",
          "amcrest-ip2m-841b",
          "--listen",
          `${cameraHost.address}:${OTHER_PORT}`,
          "--discovery",
        ]),
        { stdio: ["ignore", "pipe", "pipe"] },
      );
      otherSerial = await new Promise<string>((ready, fail) => {
        const lines = createInterface({ input: other?.stdout as NodeJS.ReadableStream });
        lines.on("line", (line) => {
          const serial = /^emulated \S+ (\S+) on/.exec(line)?.[1];
          if (serial) ready(serial);
        });
        other?.once("exit", (code) => fail(new Error(`the second emulator exited with ${code}`)));
      });
    }, 60_000);

    afterAll(async () => {
      for (const child of [emulator, other])
        if (child && child.exitCode === null) {
          const exited = new Promise((done) => child.once("exit", done));
          child.kill("SIGTERM");
          await exited;
        }
      await lan?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it("camgate discover finds every camera (two makes) by both protocols, and says which one the config has", async () => {
      const [gatewayHost, cameraHost] = lan.hosts;
      const config = join(dir, "camgate.yaml");
      writeFileSync(
        config,
        `cameras:\n  - id: porch\n    url: http://${cameraHost.address}:${HTTP_PORT + 1}\n    username: admin\n    password: admin\n`,
      );
      const { stdout } = await run(
        "ip",
        lan.exec(gatewayHost.ns, [
          process.execPath,
          BIN,
          "discover",
          "--json",
          "--timeout",
          "1500",
          "-c",
          config,
        ]),
        { timeout: 20_000 },
      );
      const result = JSON.parse(stdout) as DiscoveryResult;
      expect(result.links).toEqual([gatewayHost.address]);
      // Two makes: the Dahua pair and the Amcrest, each once, merged across both protocols.
      expect(result.cameras).toHaveLength(3);
      expect(result.cameras.map((c) => c.serial).sort()).toEqual([...serials, otherSerial].sort());
      expect(new Set(result.cameras.map((c) => c.mac)).size).toBe(3);
      expect(result.cameras[2]).toMatchObject({
        address: cameraHost.address,
        httpPort: OTHER_PORT,
        model: "IP2M-841B",
        vendor: "Amcrest",
        via: expect.arrayContaining(["dhdiscover", "ws-discovery"]),
      });
      for (const [index, camera] of result.cameras.slice(0, 2).entries())
        expect(camera).toMatchObject({
          address: cameraHost.address,
          httpPort: HTTP_PORT + index,
          model: "IPC-HDW5831R-ZE",
          firmware: "3.142.0000000.2.R,build:2024-03-20",
          vendor: "Dahua",
          mac: expect.stringMatching(/^9c:8e:cd(:[0-9a-f]{2}){3}$/),
          onvif: `http://${cameraHost.address}:${HTTP_PORT + index}/onvif/device_service`,
          via: expect.arrayContaining(["dhdiscover", "ws-discovery"]),
        });
      expect(result.cameras.map((c) => c.known)).toEqual([undefined, "porch", undefined]);
      // And for people: one line per camera.
      const text = await run(
        "ip",
        lan.exec(gatewayHost.ns, [process.execPath, BIN, "discover", "--timeout", "1500", "-c", config]),
        { timeout: 20_000 },
      );
      expect(text.stdout).toContain(`http://${cameraHost.address}:${HTTP_PORT + 1}`);
      expect(text.stdout).toContain('configured as "porch"');
      expect(text.stdout).toMatch(/IPC-HDW5831R-ZE .*serial .*new/);
    }, 60_000);

    it("camgate init finds the cameras, checks the one chosen with one login, and writes it", async () => {
      const [gatewayHost, cameraHost] = lan.hosts;
      const work = join(dir, "init");
      mkdirSync(work);
      const answers = ["alice", "alice-lan-password", "2", "", "admin", "admin", String(rtspPorts[1]), ""];
      const child = spawn(
        "ip",
        lan.exec(gatewayHost.ns, [process.execPath, BIN, "init", "--timeout", "1500"]),
        { cwd: work, stdio: ["pipe", "pipe", "pipe"] },
      );
      let output = "";
      child.stdout.on("data", (chunk) => {
        output += chunk;
      });
      child.stderr.on("data", (chunk) => {
        output += chunk;
      });
      child.stdin.end(answers.map((line) => `${line}\n`).join(""));
      const code = await new Promise((done) => child.once("exit", done));
      expect(output).toMatch(
        new RegExp(
          `2\\. http://${cameraHost.address.replace(/\./g, "\\.")}:${HTTP_PORT + 1}  Dahua IPC-HDW5831R-ZE`,
        ),
      );
      expect(output).toMatch(/ok: Dahua IPC-HDW5831R-ZE.*main stream H264/);
      expect(code).toBe(0);
      const config = loadConfigFile(join(work, "camgate.yaml"));
      expect(config.cameras).toEqual([
        expect.objectContaining({ url: `http://${cameraHost.address}:${HTTP_PORT + 1}`, username: "admin" }),
      ]);
    }, 60_000);

    it("rroller/dahua's DHDiscover probe gets the camera's identity", async () => {
      const [gatewayHost, cameraHost] = lan.hosts;
      const { stdout } = await run(
        "ip",
        lan.exec(gatewayHost.ns, ["/usr/bin/python3", PEER, cameraHost.address]),
        { timeout: 20_000 },
      );
      const info = JSON.parse(stdout) as Record<string, unknown>;
      // A unicast probe reaches one of the host's discovery sockets (the kernel picks); each answers as itself.
      const amcrest = info.SerialNo === otherSerial;
      expect(amcrest ? [otherSerial] : serials).toContain(info.SerialNo);
      expect(info).toMatchObject({
        DeviceType: amcrest ? "IP2M-841B" : "IPC-HDW5831R-ZE",
        DeviceClass: "IPC",
      });
      expect(amcrest ? [OTHER_PORT] : [HTTP_PORT, HTTP_PORT + 1]).toContain(info.HttpPort);
    }, 30_000);

    it("the npm onvif package's WS-Discovery finds every ONVIF device service", async () => {
      const [gatewayHost, cameraHost] = lan.hosts;
      const script = `import onvif from "onvif";
onvif.Discovery.probe({ timeout: 1500, resolve: false }, (errors, found) => {
  console.log(JSON.stringify(found.map((m) => m.probeMatches.probeMatch.XAddrs)));
});`;
      const { stdout } = await run(
        "ip",
        lan.exec(gatewayHost.ns, [process.execPath, "--input-type=module", "-e", script]),
        { timeout: 20_000, cwd: ROOT },
      );
      expect((JSON.parse(stdout) as string[]).sort()).toEqual([
        `http://${cameraHost.address}:${HTTP_PORT}/onvif/device_service`,
        `http://${cameraHost.address}:${HTTP_PORT + 1}/onvif/device_service`,
        `http://${cameraHost.address}:${OTHER_PORT}/onvif/device_service`,
      ]);
    }, 30_000);
  },
);
