/**
 * camgate's side of the camera's RTSP: against a server we did not write (GStreamer's gst-rtsp-server, with
 * Digest), against the emulator's Dahua quirks (timestamp jumps, parameter sets only in the SDP, no marker
 * bit, lost packets, line noise and broken packets, a 10 s GOP, a short session timeout), a reboot in the
 * middle, and a wrong camera password. What viewers get stays whole, ordered and on one timeline.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { StreamQuirks } from "../../src/emulator/rtsp-stream.ts";
import { CAMERA_PASSWORD, startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { freePort, waitFor } from "../helpers/http.ts";
import {
  ffmpegCopy,
  ffmpegDecode,
  locateFfmpeg,
  locateGstPython,
  RawRtspClient,
  readStamps,
  videoPackets,
} from "../helpers/rtsp.ts";
import { itWithTool } from "../helpers/system-tools.ts";

let gateway: TestGateway | undefined;
const peers: ChildProcess[] = [];

afterEach(async () => {
  await gateway?.close();
  gateway = undefined;
  for (const peer of peers.splice(0)) {
    peer.stdin?.end();
    if (peer.exitCode === null) {
      const exited = new Promise((resolve) => peer.once("exit", resolve));
      peer.kill("SIGTERM");
      await exited;
    }
  }
});

async function gatewayWith(quirks: StreamQuirks, rtsp: Record<string, unknown> = {}) {
  gateway = await startTestGateway({
    cameras: [{ id: "dogs", profile: "amcrest-ip2m-841b", emulator: { rtsp: { quirks, ...rtsp } } }],
    server: { rtsp: { listen: "127.0.0.1:0" } },
    relay: { lingerMs: 200 },
  });
  const port = Number(new URL(gateway.camgate.rtspUrl ?? "").port);
  return { gateway, port, url: `rtsp://127.0.0.1:${port}/dogs` };
}

const hubOf = (g: TestGateway) => {
  const hub = g.camgate.streams.list().find((h) => h.camera === "dogs" && h.name === "main");
  if (!hub) throw new Error("no main stream hub");
  return hub;
};

/** Stamps strictly increasing: never out of order, never twice (some may be missing after a loss). */
function expectIncreasing(sequences: number[]): void {
  for (let i = 1; i < sequences.length; i++)
    expect(sequences[i], `picture ${i}`).toBeGreaterThan(sequences[i - 1] as number);
}

/** Every packet's sequence is the last one's plus one, and picture timestamps step forward by < 5 s. */
function expectOneTimeline(packets: ReturnType<typeof videoPackets>): void {
  for (let i = 1; i < packets.length; i++) {
    const previous = packets[i - 1] as (typeof packets)[number];
    const current = packets[i] as (typeof packets)[number];
    expect(current.sequence, `packet ${i}`).toBe((previous.sequence + 1) & 0xffff);
    const step = (current.timestamp - previous.timestamp) >>> 0;
    if (step !== 0) expect(step, `timestamp step at packet ${i}`).toBeLessThanOrEqual(5 * 90_000);
  }
}

describe("against the emulator's quirks", () => {
  it("a camera that stamps every 50th picture two hours off: viewers see one steady timeline", async () => {
    const { gateway: g, port, url } = await gatewayWith({ timestampJump: true });
    const client = new RawRtspClient(port);
    client.keep = true;
    try {
      await client.play(url);
      await waitFor(() => (hubOf(g).timestampJumps >= 2 ? true : undefined), 15_000, "two timestamp jumps");
      const packets = videoPackets(client);
      expect(packets.length).toBeGreaterThan(100);
      expectOneTimeline(packets);
    } finally {
      client.close();
    }
  });

  itWithTool(
    "ffmpeg",
    locateFfmpeg,
    "parameter sets only in the SDP: ffmpeg still decodes through camgate",
    async () => {
      const { url } = await gatewayWith({ parameterSetsOnlyInSdp: true });
      const decoded = await ffmpegDecode(url, 15);
      expect(decoded.stderr).toBe("");
      expect(decoded.stdout.length).toBe(15 * 16 * 9);
    },
  );

  itWithTool(
    "ffmpeg",
    locateFfmpeg,
    "no marker bit on any packet: pictures are still split at the right place",
    async () => {
      const { url } = await gatewayWith({ noMarker: true });
      const copied = await ffmpegCopy(url, 40);
      expect(copied.code).toBe(0);
      const sequences = readStamps(copied.stdout).map((s) => s.sequence);
      expect(sequences.length).toBeGreaterThanOrEqual(35);
      expect(sequences).toEqual(sequences.map((_, i) => (sequences[0] as number) + i));
    },
  );

  itWithTool(
    "ffmpeg",
    locateFfmpeg,
    "lost packets: the broken pictures are dropped up to the next keyframe, the rest arrive in order",
    async () => {
      const { gateway: g, url } = await gatewayWith({ dropEveryPacket: 97 });
      const decoded = await ffmpegDecode(url, 40);
      expect(decoded.code).toBe(0);
      expect(decoded.stdout.length).toBe(40 * 16 * 9);
      const copied = await ffmpegCopy(url, 30);
      expectIncreasing(readStamps(copied.stdout).map((s) => s.sequence));
      expect(hubOf(g).stats().droppedUpstream).toBeGreaterThan(0);
    },
  );

  it("line noise, foreign channels, version-0 RTP, truncated fragments and empty frames: the stream goes on", async () => {
    const { gateway: g, port, url } = await gatewayWith({ garbageEveryPacket: 5 });
    const client = new RawRtspClient(port);
    client.keep = true;
    try {
      await client.play(url);
      await waitFor(() => (hubOf(g).stats().unitsIn >= 75 ? true : undefined), 15_000, "75 pictures");
      const stats = hubOf(g).stats();
      expect(stats.state).toBe("live");
      expect(stats.upstreamConnects).toBe(1);
      expect(stats.badPackets).toBeGreaterThan(0);
      // Strays are refused by their SSRC, not mistaken for lost packets (which would cost whole GOPs).
      expect(stats.droppedUpstream).toBe(0);
      expectOneTimeline(videoPackets(client));
    } finally {
      client.close();
    }
  });

  it("a 10 s GOP: a viewer joining 2 s in starts at the cached keyframe, not 8 s later", async () => {
    const { gateway: g, port, url } = await gatewayWith({ longGop: true });
    const first = new RawRtspClient(port);
    const late = new RawRtspClient(port);
    late.keep = true;
    try {
      await first.play(url);
      // The cache holds a keyframe and the pictures after it.
      await waitFor(
        () => (hubOf(g).stats().gopCachedUnits >= 40 ? true : undefined),
        15_000,
        "a warm GOP cache",
      );
      const live = hubOf(g).stats().unitsIn;
      await late.play(url);
      await late.waitForFrames(0, 1);
      // The first picture it gets is a keyframe (an IDR, NAL type 5): decodable at once.
      const packets = videoPackets(late);
      const firstPicture = packets.filter((p) => p.timestamp === packets[0]?.timestamp);
      expect(firstPicture.flatMap((p) => p.nalTypes)).toContain(5);
      // The burst is the cache: at least the pictures the first viewer had when the late one joined.
      await waitFor(
        () => (new Set(videoPackets(late).map((p) => p.timestamp)).size >= 40 ? true : undefined),
        5000,
        "the cached pictures",
      );
      expect(hubOf(g).stats().unitsIn - live).toBeLessThan(40);
      expectOneTimeline(videoPackets(late));
    } finally {
      first.close();
      late.close();
    }
  });

  it("a 1 s session timeout: camgate's keepalives hold the one session", async () => {
    const { gateway: g, port, url } = await gatewayWith({}, { sessionTimeoutSeconds: 1 });
    const camera = g.cameras.get("dogs");
    const client = new RawRtspClient(port);
    try {
      await client.play(url);
      // Three timeouts' worth of pictures.
      await waitFor(() => (hubOf(g).stats().unitsIn >= 75 ? true : undefined), 15_000, "75 pictures");
      expect(camera?.control.rtspCounters().timedOut).toBe(0);
      expect(camera?.control.rtspCounters().sessions).toBe(1);
      expect(hubOf(g).stats().upstreamConnects).toBe(1);
    } finally {
      client.close();
    }
  });

  it("the camera reboots mid-stream: the viewer stays connected, on one timeline, and gets pictures again", async () => {
    const { gateway: g, port, url } = await gatewayWith({});
    const camera = g.cameras.get("dogs");
    const client = new RawRtspClient(port);
    client.keep = true;
    try {
      await client.play(url);
      await waitFor(() => (hubOf(g).stats().unitsIn >= 25 ? true : undefined), 15_000, "25 pictures");
      await camera?.control.reboot(300);
      const before = hubOf(g).stats().unitsIn;
      await waitFor(
        () => (hubOf(g).stats().unitsIn >= before + 25 ? true : undefined),
        20_000,
        "pictures again",
      );
      expect(hubOf(g).stats().upstreamConnects).toBe(2);
      expect(client.closed).toBe(false);
      expectOneTimeline(videoPackets(client));
    } finally {
      client.close();
    }
  });

  it("a wrong camera password: viewers get 503, the camera sees one failed login, never a lockout", async () => {
    gateway = await startTestGateway({
      server: { rtsp: { listen: "127.0.0.1:0" } },
      cameraPassword: "not-the-password",
    });
    const port = Number(new URL(gateway.camgate.rtspUrl ?? "").port);
    const camera = gateway.cameras.get("dogs");
    for (let i = 0; i < 3; i++) {
      const client = new RawRtspClient(port);
      try {
        const answer = await client.request("DESCRIBE", `rtsp://127.0.0.1:${port}/dogs`);
        expect(answer.status).toBe(503);
      } finally {
        client.close();
      }
    }
    // The camera's one failed-login count covers HTTP and RTSP alike.
    expect(camera?.control.counters().authFailures).toBe(1);
    expect(camera?.control.lockedAddresses()).toEqual([]);
    expect(hubOf(gateway).stats().lastError).toMatch(/credentials/);
  });
});

describe("a stream that cannot open", () => {
  it("a wrong RTSP port: the stream is down with its reason, the camera stays online (issue 28)", async () => {
    const closed = await freePort();
    gateway = await startTestGateway({
      cameras: [{ id: "dogs", profile: "amcrest-ip2m-841b", config: { rtsp: { port: closed } } }],
      server: { rtsp: { listen: "127.0.0.1:0" } },
    });
    const g = gateway;
    const changes: string[] = [];
    const unwatch = g.camgate.cameras.watch({
      health: (entry, health) => changes.push(`${entry.id} ${health.state}`),
    });
    try {
      // The camera's HTTP answers: it is online before any stream is asked for.
      await waitFor(
        async () => ((await g.camgate.cameras.deviceInfo("dogs")) ? true : undefined),
        10_000,
        "the camera's device info",
      );
      const entry = g.camgate.cameras.get("dogs");
      if (!entry) throw new Error("no camera dogs");
      const hub = g.camgate.streams.hub(entry, "main");
      let downs = 0;
      const detach = hub.attach({
        onVideo: () => undefined,
        onState: (state) => {
          if (state === "down") downs++;
        },
      });
      try {
        await waitFor(() => (downs >= 3 ? true : undefined), 20_000, "three failed connects");
      } finally {
        detach();
      }
      expect(hub.stats().lastError).toMatch(/ECONNREFUSED|unreachable|RTSP/);
      expect(changes.filter((change) => change.endsWith("offline"))).toEqual([]);
      expect(entry.session.getHealth().state).toBe("online");
    } finally {
      unwatch();
    }
  });
});

/** GStreamer's RTSP server with Digest at `mount`, as a peer of the test; resolves with its port. */
async function startGstCamera(python: string, mount = "/live"): Promise<number> {
  const peer = spawn(
    python,
    [join(import.meta.dirname, "../peers/gst-rtsp-camera.py"), "admin", CAMERA_PASSWORD, mount],
    { stdio: ["pipe", "pipe", "inherit"] },
  );
  peers.push(peer);
  return new Promise<number>((resolve, reject) => {
    let out = "";
    peer.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const match = /port (\d+)/.exec(out);
      if (match) resolve(Number(match[1]));
    });
    peer.once("exit", (code) => reject(new Error(`gst-rtsp-camera.py exited with ${code}`)));
  });
}

describe("against a camera we did not write", () => {
  itWithTool(
    "python3 with gst-rtsp-server",
    locateGstPython,
    "GStreamer's RTSP server at Dahua's path with a query string: PLAY goes to the aggregate control URL (issue 27)",
    async (python) => {
      const gstPort = await startGstCamera(python, "/cam/realmonitor");
      gateway = await startTestGateway({
        server: { rtsp: { listen: "127.0.0.1:0" } },
        cameras: [{ id: "dogs", profile: "amcrest-ip2m-841b", config: { rtsp: { port: gstPort } } }],
      });
      const port = Number(new URL(gateway.camgate.rtspUrl ?? "").port);
      const decoded = await ffmpegDecode(`rtsp://127.0.0.1:${port}/dogs`, 20);
      expect(decoded.stderr).toBe("");
      expect(decoded.stdout.length).toBe(20 * 16 * 9);
      expect(hubOf(gateway).stats()).toMatchObject({ width: 320, height: 240, upstreamConnects: 1 });
    },
    60_000,
  );

  itWithTool(
    "python3 with gst-rtsp-server",
    locateGstPython,
    "GStreamer's RTSP server with Digest: camgate relays its H.264 to ffmpeg",
    async (python) => {
      const gstPort = await startGstCamera(python);
      gateway = await startTestGateway({
        server: { rtsp: { listen: "127.0.0.1:0" } },
        cameras: [
          { id: "dogs", profile: "amcrest-ip2m-841b", config: { rtsp: { port: gstPort, main: "/live" } } },
        ],
      });
      const port = Number(new URL(gateway.camgate.rtspUrl ?? "").port);
      const decoded = await ffmpegDecode(`rtsp://127.0.0.1:${port}/dogs`, 20);
      expect(decoded.stderr).toBe("");
      expect(decoded.stdout.length).toBe(20 * 16 * 9);
      const stats = hubOf(gateway).stats();
      expect(stats).toMatchObject({ width: 320, height: 240, upstreamConnects: 1, badPackets: 0 });
      expect(stats.codec).toMatch(/^avc1\.42/);
    },
    60_000,
  );
});
