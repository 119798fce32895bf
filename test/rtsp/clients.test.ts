/**
 * camgate's RTSP server read by clients we did not write (ffmpeg, ffprobe, GStreamer's rtspsrc), with our
 * own auth in front: every picture arrives, in order, decodable; any number of viewers cost the camera one
 * RTSP session, which closes after the linger.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { locateFfprobe } from "../helpers/ffprobe.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { freePort, waitFor } from "../helpers/http.ts";
import {
  ffmpegCopy,
  ffmpegDecode,
  gstRead,
  gstSucceeded,
  locateFfmpeg,
  locateGstLaunch,
  locatePromtool,
  RawRtspClient,
  readStamps,
  runTool,
  type Stamp,
} from "../helpers/rtsp.ts";
import { itWithTool } from "../helpers/system-tools.ts";

const ALICE = { username: "alice", password: "alice-password-4821" };
const ADMIN_TOKEN = "admin-token-rtsp-5512";
const LINGER_MS = 400;

let gateway: TestGateway;
let rtspPort: number;
let passthroughPort: number;

const url = (path: string, who = ALICE) =>
  `rtsp://${who.username}:${who.password}@127.0.0.1:${rtspPort}${path}`;

/** Consecutive stamps: no picture lost, none twice, none out of order. */
function expectConsecutive(stamps: Stamp[], atLeast: number): void {
  expect(stamps.length).toBeGreaterThanOrEqual(atLeast);
  const first = stamps[0]?.sequence ?? 0;
  expect(stamps.map((s) => s.sequence)).toEqual(stamps.map((_, i) => first + i));
}

const emulatorOf = (id: string) => {
  const camera = gateway.cameras.get(id);
  if (!camera) throw new Error(`no emulated camera ${id}`);
  return camera;
};

beforeAll(async () => {
  passthroughPort = await freePort();
  gateway = await startTestGateway({
    cameras: [
      { id: "dogs", profile: "amcrest-ip2m-841b", config: { rtspPassthroughPort: passthroughPort } },
      { id: "cats", profile: "dahua-h265" },
    ],
    server: { rtsp: { listen: "127.0.0.1:0" } },
    users: [
      { name: "alice", role: "viewer", password: ALICE.password, cameras: ["*"] },
      { name: "root", role: "admin", token: ADMIN_TOKEN },
    ],
    relay: { lingerMs: LINGER_MS },
  });
  rtspPort = Number(new URL(gateway.camgate.rtspUrl ?? "").port);
});

afterAll(async () => {
  await gateway?.close();
});

describe("camgate's RTSP server, read by independent clients", () => {
  itWithTool(
    "ffprobe",
    locateFfprobe,
    "ffprobe sees the main stream's H.264 and the camera's PCMA audio",
    async () => {
      const probe = await runTool("ffprobe", [
        "-v",
        "error",
        "-rtsp_transport",
        "tcp",
        "-show_entries",
        "stream=codec_name,width,height",
        "-of",
        "csv=p=0",
        url("/dogs"),
      ]);
      expect(probe.stderr).toBe("");
      expect(probe.stdout.toString().trim().split("\n")).toEqual(["h264,640,360", "pcm_alaw"]);
    },
  );

  itWithTool(
    "ffmpeg",
    locateFfmpeg,
    "ffmpeg (Digest, its choice when both are offered) decodes every picture",
    async () => {
      const frames = 30;
      const decoded = await ffmpegDecode(url("/dogs"), frames);
      expect(decoded.stderr).toBe("");
      expect(decoded.code).toBe(0);
      expect(decoded.stdout.length).toBe(frames * 16 * 9);
      expect(gateway.logs()).toMatch(/"via":"digest"[^\n]*"RTSP viewer started"/);
    },
  );

  itWithTool(
    "ffmpeg",
    locateFfmpeg,
    "with authMethods [basic], ffmpeg answers the Basic challenge",
    async () => {
      const basicOnly = await startTestGateway({
        server: { rtsp: { listen: "127.0.0.1:0", authMethods: ["basic"] } },
        users: [{ name: "alice", role: "viewer", password: ALICE.password, cameras: ["*"] }],
      });
      try {
        const port = new URL(basicOnly.camgate.rtspUrl ?? "").port;
        const decoded = await ffmpegDecode(
          `rtsp://${ALICE.username}:${ALICE.password}@127.0.0.1:${port}/dogs`,
          10,
        );
        expect(decoded.stderr).toBe("");
        expect(decoded.stdout.length).toBe(10 * 16 * 9);
        expect(basicOnly.logs()).toMatch(/"via":"basic"[^\n]*"RTSP viewer started"/);
        expect(basicOnly.logs()).not.toMatch(/"via":"digest"/);
      } finally {
        await basicOnly.close();
      }
    },
  );

  itWithTool(
    "ffmpeg",
    locateFfmpeg,
    "ffmpeg gets the camera's pictures consecutively and in order",
    async () => {
      const copied = await ffmpegCopy(url("/dogs"), 60);
      expect(copied.code).toBe(0);
      expectConsecutive(readStamps(copied.stdout), 55);
    },
  );

  itWithTool(
    "ffmpeg",
    locateFfmpeg,
    "the H.265 main stream of a dahua-h265 camera arrives whole",
    async () => {
      const copied = await ffmpegCopy(url("/cats"), 40, [], "hevc");
      expect(copied.code).toBe(0);
      expectConsecutive(readStamps(copied.stdout), 35);
      const decoded = await ffmpegDecode(url("/cats"), 20);
      expect(decoded.stdout.length).toBe(20 * 16 * 9);
    },
  );

  itWithTool(
    "ffprobe",
    locateFfprobe,
    "the sub stream and the camera's own URL forms are the streams they name",
    async () => {
      const probe = async (target: string) =>
        (
          await runTool("ffprobe", [
            "-v",
            "error",
            "-rtsp_transport",
            "tcp",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=width,height",
            "-of",
            "csv=p=0",
            target,
          ])
        ).stdout
          .toString()
          .trim();
      expect(await probe(url("/dogs/sub"))).toBe("320,180");
      expect(await probe(url("/dogs/cam/realmonitor?channel=1&subtype=1"))).toBe("320,180");
      // The camera's own port: an existing URL with only the host (and credentials) changed.
      expect(
        await probe(
          `rtsp://${ALICE.username}:${ALICE.password}@127.0.0.1:${passthroughPort}/cam/realmonitor?channel=1&subtype=0`,
        ),
      ).toBe("640,360");
    },
  );

  itWithTool(
    "gst-launch-1.0",
    locateGstLaunch,
    "GStreamer's rtspsrc gets every picture in order, and decodes them",
    async (gst) => {
      const copied = await gstRead(gst, `rtsp://127.0.0.1:${rtspPort}/dogs`, 50, { auth: ALICE });
      expect(gstSucceeded(copied), copied.stderr).toBe(true);
      expectConsecutive(readStamps(copied.stdout), 45);
      const decoded = await gstRead(gst, `rtsp://127.0.0.1:${rtspPort}/cats`, 30, {
        auth: ALICE,
        decode: true,
        codec: "h265",
      });
      expect(gstSucceeded(decoded), decoded.stderr).toBe(true);
    },
  );
});

describe("fan-out", () => {
  itWithTool(
    "ffmpeg",
    locateFfmpeg,
    "our client, ffmpeg and GStreamer together cost the camera one RTSP session, closed after the linger",
    async () => {
      const camera = emulatorOf("dogs");
      await waitFor(() => (camera.control.rtspSessions() === 0 ? true : undefined), 10_000, "an idle camera");
      const before = camera.control.rtspCounters();
      const raw = [1, 2, 3].map(() => new RawRtspClient(rtspPort, ALICE));
      try {
        await Promise.all(raw.map((client) => client.play(`rtsp://127.0.0.1:${rtspPort}/dogs`)));
        const gst = locateGstLaunch();
        const runs = await Promise.all([
          ffmpegCopy(url("/dogs"), 30),
          ffmpegCopy(url("/dogs"), 30),
          ffmpegCopy(url("/dogs/cam/realmonitor?channel=1&subtype=0"), 30),
          ...(gst ? [gstRead(gst, url("/dogs"), 30)] : []),
        ]);
        for (const run of runs.slice(0, 3)) expect(run.stderr).toBe("");
        for (const run of runs.slice(3)) expect(gstSucceeded(run), run.stderr).toBe(true);
        for (const run of runs) expectConsecutive(readStamps(run.stdout), 25);
        await Promise.all(raw.map((client) => client.waitForFrames(0, 200)));
        const during = camera.control.rtspCounters();
        expect(during.sessions - before.sessions).toBe(1);
        expect(camera.control.rtspSessions()).toBe(1);
      } finally {
        for (const client of raw) client.close();
      }
      // Everyone gone: the one session is torn down after the linger (the camera's TEARDOWN count shows it).
      await waitFor(
        () => (camera.control.rtspSessions() === 0 ? true : undefined),
        10_000,
        "the session to close",
      );
      expect(camera.control.rtspCounters().timedOut).toBe(before.timedOut);
    },
  );

  it("viewers of the main and sub streams take two of the camera's sessions, never more", async () => {
    const camera = emulatorOf("dogs");
    const clients = [
      ...[1, 2, 3].map(() => new RawRtspClient(rtspPort, ALICE)),
      ...[1, 2, 3].map(() => new RawRtspClient(rtspPort, ALICE)),
    ];
    try {
      await Promise.all(
        clients.map((client, i) => client.play(`rtsp://127.0.0.1:${rtspPort}/dogs${i < 3 ? "" : "/sub"}`)),
      );
      await Promise.all(clients.map((client) => client.waitForFrames(0, 20)));
      expect(camera.control.rtspSessions()).toBe(2);
      const viewers = gateway.camgate.rtspServer?.viewers() ?? [];
      expect(viewers.filter((v) => v.camera === "dogs" && v.playing).length).toBe(6);
      // A third stream would need a third session (rtsp.maxSessions is 2): refused here, not at the camera.
      const refusedBefore = camera.control.rtspCounters().refusedSessions;
      const third = new RawRtspClient(rtspPort, ALICE);
      try {
        const answer = await third.request(
          "DESCRIBE",
          `rtsp://127.0.0.1:${rtspPort}/dogs/cam/realmonitor?channel=1&subtype=2`,
        );
        expect(answer.status).toBe(503);
      } finally {
        third.close();
      }
      expect(camera.control.rtspSessions()).toBe(2);
      expect(camera.control.rtspCounters().refusedSessions).toBe(refusedBefore);
    } finally {
      for (const client of clients) client.close();
    }
  });
});

describe("what camgate says about its streams", () => {
  const get = async (path: string, headers: Record<string, string>) => {
    const response = await fetch(`${gateway.url}${path}`, { headers });
    return { status: response.status, text: await response.text() };
  };
  const asAlice = {
    Authorization: `Basic ${Buffer.from(`${ALICE.username}:${ALICE.password}`).toString("base64")}`,
  };

  it("the streams endpoint, the camera summary and /metrics show the live stream, its viewers and the RTSP budget", async () => {
    const camera = emulatorOf("dogs");
    await waitFor(() => (camera.control.rtspSessions() === 0 ? true : undefined), 10_000, "an idle camera");
    const viewers = [1, 2].map(() => new RawRtspClient(rtspPort, ALICE));
    try {
      await Promise.all(viewers.map((client) => client.play(`rtsp://127.0.0.1:${rtspPort}/dogs`)));
      await Promise.all(viewers.map((client) => client.waitForFrames(0, 30)));
      const info = await get("/api/v1/cameras/dogs/streams", asAlice);
      expect(info.status).toBe(200);
      const body = JSON.parse(info.text) as {
        rtspSessions: { inUse: number; max: number };
        streams: Record<string, unknown>[];
      };
      expect(body.rtspSessions).toEqual({ inUse: 1, max: 2 });
      const main = body.streams.find((s) => s.name === "main");
      expect(main).toMatchObject({
        cameraPath: "/cam/realmonitor?channel=1&subtype=0",
        state: "live",
        width: 640,
        height: 360,
        consumers: 1,
        rtspViewers: 2,
        rtspUrl: `rtsp://127.0.0.1:${rtspPort}/dogs`,
        lastError: null,
      });
      expect(main?.codec).toMatch(/^avc1\.[0-9a-f]{6}$/);
      expect(main?.bitrate).toBeGreaterThan(0);
      expect(body.streams.find((s) => s.name === "sub")).toMatchObject({
        state: "idle",
        rtspViewers: 0,
        rtspUrl: `rtsp://127.0.0.1:${rtspPort}/dogs/sub`,
      });
      const cameras = JSON.parse((await get("/api/v1/cameras", asAlice)).text) as {
        cameras: { id: string; rtspBudget: unknown }[];
      };
      expect(cameras.cameras.find((c) => c.id === "dogs")?.rtspBudget).toEqual({
        inUse: 1,
        max: 2,
        queued: 0,
      });
      const metrics = await get("/metrics", { Authorization: `Bearer ${ADMIN_TOKEN}` });
      expect(metrics.text).toContain('camgate_stream_rtsp_viewers{camera="dogs",stream="main"} 2');
      expect(metrics.text).toContain('camgate_stream_live{camera="dogs",stream="main"} 1');
      expect(metrics.text).toContain('camgate_rtsp_sessions_in_use{camera="dogs"} 1');
      expect(metrics.text).toMatch(/camgate_stream_units_total\{camera="dogs",stream="main"\} [1-9]/);
      const promtool = locatePromtool();
      if (promtool) {
        // Prometheus's own linter: types, names and units as Prometheus wants them.
        const lint = await runTool(promtool, ["check", "metrics"], 30_000, metrics.text);
        expect(lint.stdout.toString() + lint.stderr).toBe("");
        expect(lint.code).toBe(0);
      } else if (process.env.CI === "true")
        throw new Error("promtool is not installed (.ci/run installs prometheus)");
    } finally {
      for (const client of viewers) client.close();
    }
  });

  it("a viewer-role user cannot read another's stream list", async () => {
    expect((await get("/api/v1/cameras/nope/streams", asAlice)).status).toBe(404);
    expect((await get("/api/v1/cameras/dogs/streams", {})).status).toBe(401);
  });
});
