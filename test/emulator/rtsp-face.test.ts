/**
 * The emulator's RTSP face checked by clients that share no code with it (ffprobe, ffmpeg, GStreamer's
 * rtspsrc): Dahua's Digest (RFC 2069, no qop), the streams a 2-channel profile has, H.265 on the dahua-h265
 * profile, 461 for UDP, and the firmware's session limit.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CameraError } from "../../src/camera/errors.ts";
import { RtspConnection } from "../../src/camera/rtsp-connection.ts";
import { type RunningEmulator, startEmulator } from "../../src/emulator/index.ts";
import { locateFfprobe } from "../helpers/ffprobe.ts";
import { gstRead, gstSucceeded, locateGstLaunch, readStamps, runTool } from "../helpers/rtsp.ts";
import { itWithTool } from "../helpers/system-tools.ts";

const PASSWORD = "rtsp-face-pw-31";

let amcrest: RunningEmulator;
let h265: RunningEmulator;

const rtspUrl = (emulator: RunningEmulator, subtype = 0, password = PASSWORD) =>
  `rtsp://admin:${password}@127.0.0.1:${emulator.cameras[0]?.rtspPort}/cam/realmonitor?channel=1&subtype=${subtype}`;

const ffprobe = (url: string, extra: string[] = []) =>
  runTool("ffprobe", [
    "-v",
    "error",
    "-rtsp_transport",
    "tcp",
    ...extra,
    "-show_entries",
    "stream=codec_name,width,height",
    "-of",
    "csv=p=0",
    url,
  ]);

beforeAll(async () => {
  amcrest = await startEmulator({ profile: "amcrest-ip2m-841b", password: PASSWORD });
  h265 = await startEmulator({ profile: "dahua-h265", password: PASSWORD });
});

afterAll(async () => {
  await Promise.all([amcrest?.close(), h265?.close()]);
});

describe("the emulator's RTSP, read by independent clients", () => {
  itWithTool(
    "ffprobe",
    locateFfprobe,
    "ffprobe answers Dahua's Digest and sees H.264 with PCMA, H.265, and the sub stream",
    async () => {
      const main = await ffprobe(rtspUrl(amcrest));
      expect(main.stderr).toBe("");
      expect(main.stdout.toString().trim().split("\n")).toEqual(["h264,640,360", "pcm_alaw"]);
      expect((await ffprobe(rtspUrl(amcrest, 1))).stdout.toString().trim().split("\n")[0]).toBe(
        "h264,320,180",
      );
      expect((await ffprobe(rtspUrl(h265))).stdout.toString().trim().split("\n")[0]).toBe("hevc,640,360");
    },
  );

  itWithTool(
    "ffprobe",
    locateFfprobe,
    "a wrong password is 401 and one failed login; UDP is 461",
    async () => {
      const before = amcrest.cameras[0]?.control.counters().authFailures ?? 0;
      const wrong = await ffprobe(rtspUrl(amcrest, 0, "wrong"));
      expect(wrong.code).not.toBe(0);
      expect(wrong.stderr).toContain("401 Unauthorized");
      expect(amcrest.cameras[0]?.control.counters().authFailures).toBe(before + 1);
      const udp = await ffprobe(rtspUrl(amcrest), ["-rtsp_transport", "udp"]);
      expect(udp.code).not.toBe(0);
      expect(udp.stderr).toContain("461");
    },
  );

  itWithTool(
    "gst-launch-1.0",
    locateGstLaunch,
    "GStreamer's rtspsrc gets consecutive stamped pictures",
    async (gst) => {
      const port = amcrest.cameras[0]?.rtspPort;
      const read = await gstRead(gst, `rtsp://127.0.0.1:${port}/cam/realmonitor?channel=1&subtype=0`, 40, {
        auth: { username: "admin", password: PASSWORD },
      });
      expect(gstSucceeded(read), read.stderr).toBe(true);
      const sequences = readStamps(read.stdout).map((s) => s.sequence);
      expect(sequences.length).toBeGreaterThanOrEqual(35);
      expect(sequences).toEqual(sequences.map((_, i) => (sequences[0] as number) + i));
    },
  );

  it("the seventh session is refused with 403, as the firmware's online-user limit does", async () => {
    const camera = amcrest.cameras[0];
    if (!camera) throw new Error("no camera");
    const url = `rtsp://127.0.0.1:${camera.rtspPort}/cam/realmonitor?channel=1&subtype=1`;
    const connections: RtspConnection[] = [];
    const statuses: number[] = [];
    try {
      for (let i = 0; i < 7; i++) {
        const connection = new RtspConnection({
          camera: "limit",
          host: "127.0.0.1",
          port: camera.rtspPort,
          username: "admin",
          password: PASSWORD,
          connectTimeoutMs: 5000,
          responseTimeoutMs: 5000,
          onFrame: () => undefined,
          onClose: (error: CameraError) => void error,
        });
        connections.push(connection);
        await connection.open();
        await connection.request("DESCRIBE", url);
        const setup = await connection.request("SETUP", `${url}/trackID=0`, [
          ["Transport", "RTP/AVP/TCP;unicast;interleaved=0-1"],
        ]);
        statuses.push(setup.status);
      }
      expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 403]);
      expect(camera.control.rtspCounters().refusedSessions).toBe(1);
    } finally {
      for (const connection of connections) connection.close();
    }
  });
});
