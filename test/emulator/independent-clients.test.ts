/**
 * The emulator's Digest and Basic servers checked by clients that share no code with camgate: curl, Python
 * requests and ffprobe.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect } from "vitest";
import { type RunningEmulator, startEmulator } from "../../src/emulator/index.ts";
import { locateFfprobe, probeVideo } from "../helpers/ffprobe.ts";
import { findTool, itWithTool, pythonWithRequests } from "../helpers/system-tools.ts";

const run = promisify(execFile);
const PASSWORD = "s3cret pass";

async function curl(args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run("curl", ["-s", "--max-time", "10", ...args], {
    encoding: "latin1",
    maxBuffer: 32 * 1024 * 1024,
  });
}

describe("emulator against independent clients", () => {
  let amcrest: RunningEmulator;
  let legacy: RunningEmulator;
  let nvr: RunningEmulator;

  beforeAll(async () => {
    amcrest = await startEmulator({ profile: "amcrest-ip2m-841b", password: PASSWORD });
    legacy = await startEmulator({ profile: "legacy-2014", password: PASSWORD });
    nvr = await startEmulator({ profile: "nvr-strict-nonce", password: PASSWORD });
  });
  afterAll(async () => {
    await Promise.all([amcrest?.close(), legacy?.close(), nvr?.close()]);
  });

  const url = (emulator: RunningEmulator, target: string) => `${emulator.cameras[0]?.url}${target}`;
  const locateCurl = () => findTool("curl");

  itWithTool("curl", locateCurl, "curl --digest fetches getSystemInfo and a JPEG snapshot", async () => {
    const info = await curl([
      "--digest",
      "-u",
      `admin:${PASSWORD}`,
      url(amcrest, "/cgi-bin/magicBox.cgi?action=getSystemInfo"),
    ]);
    expect(info.stdout).toContain("deviceType=IP2M-841B\r\n");
    expect(info.stdout).toContain(`serialNumber=${amcrest.cameras[0]?.serial}\r\n`);
    const snapshot = await curl([
      "--digest",
      "-u",
      `admin:${PASSWORD}`,
      "-w",
      "\n%{http_code} %{content_type}",
      url(amcrest, "/cgi-bin/snapshot.cgi?channel=1"),
    ]);
    const bytes = Buffer.from(snapshot.stdout, "latin1");
    expect(bytes.subarray(0, 3)).toEqual(Buffer.from([0xff, 0xd8, 0xff]));
    expect(snapshot.stdout.endsWith("\n200 image/jpeg")).toBe(true);
  });

  itWithTool(
    "curl",
    locateCurl,
    "curl with a wrong password, and curl --basic, get 401 with the Login to <serial> challenge",
    async () => {
      const serial = amcrest.cameras[0]?.serial;
      for (const args of [
        ["--digest", "-u", "admin:wrong"],
        ["--basic", "-u", `admin:${PASSWORD}`],
      ]) {
        const result = await curl([
          ...args,
          "-i",
          url(amcrest, "/cgi-bin/magicBox.cgi?action=getDeviceType"),
        ]);
        const last = result.stdout.slice(result.stdout.lastIndexOf("HTTP/1.1"));
        expect(last).toMatch(/^HTTP\/1\.1 401/);
        expect(last).toMatch(
          new RegExp(
            `WWW-Authenticate: Digest realm="Login to ${serial}", qop="auth", nonce="\\d+", opaque="[0-9a-f]{40}"\\r\\n`,
          ),
        );
        expect(last).toMatch(/Connection: close\r\n/i);
      }
      amcrest.cameras[0]?.control.unlockAll();
    },
  );

  itWithTool(
    "curl",
    locateCurl,
    "the legacy 2014 profile accepts Basic and challenges with realm Device_CGI",
    async () => {
      const ok = await curl([
        "--basic",
        "-u",
        `admin:${PASSWORD}`,
        url(legacy, "/cgi-bin/magicBox.cgi?action=getDeviceType"),
      ]);
      expect(ok.stdout).toBe("type=IPC-HFW4300S-V2\r\n");
      const refused = await curl(["-i", url(legacy, "/cgi-bin/magicBox.cgi?action=getDeviceType")]);
      expect(refused.stdout).toMatch(/^HTTP\/1\.1 401/);
      expect(refused.stdout).toContain('WWW-Authenticate: Basic realm="Device_CGI"\r\n');
    },
  );

  itWithTool(
    "curl",
    locateCurl,
    "curl --digest works against the single-use-nonce NVR (one challenge per request)",
    async () => {
      const result = await curl([
        "--digest",
        "-u",
        `admin:${PASSWORD}`,
        url(nvr, "/cgi-bin/magicBox.cgi?action=getDeviceType"),
      ]);
      expect(result.stdout).toBe("type=DHI-NVR5464-4KS2\r\n");
    },
  );

  itWithTool(
    "python3 with requests",
    pythonWithRequests,
    "Python requests with HTTPDigestAuth works (it quotes qop)",
    async (python) => {
      const script = [
        "import sys, requests",
        "from requests.auth import HTTPDigestAuth",
        "s = requests.Session()",
        "s.auth = HTTPDigestAuth('admin', sys.argv[2])",
        "for action in ['getDeviceType', 'getSerialNo', 'getSoftwareVersion']:",
        "    r = s.get(sys.argv[1] + '/cgi-bin/magicBox.cgi?action=' + action, timeout=10)",
        "    print(r.status_code, r.text.strip())",
      ].join("\n");
      const { stdout } = await run(python, ["-c", script, amcrest.cameras[0]?.url ?? "", PASSWORD]);
      expect(stdout.trim().split("\n")).toEqual([
        "200 type=IP2M-841B",
        `200 sn=${amcrest.cameras[0]?.serial}`,
        "200 version=2.520.AC00.18.R,build:2017-06-29",
      ]);
    },
  );

  itWithTool(
    "ffprobe",
    locateFfprobe,
    "ffprobe reads mjpg/video.cgi as MJPEG of the configured size",
    async () => {
      const camera = amcrest.cameras[0];
      if (!camera) throw new Error("no camera");
      camera.control.setConfig("Encode[0].ExtraFormat[0].Video.Width", 352);
      camera.control.setConfig("Encode[0].ExtraFormat[0].Video.Height", 288);
      const target = new URL(`${camera.url}/cgi-bin/mjpg/video.cgi?channel=1&subtype=1`);
      target.username = "admin";
      target.password = encodeURIComponent(PASSWORD);
      expect(await probeVideo(target.href)).toBe("mjpeg,352,288");
    },
    30_000,
  );
});
