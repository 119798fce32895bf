/** The live relay: one upstream per stream, latest frame wins, recovery, and snapshots without waiting. */
import { execFile } from "node:child_process";
import { connect, type Socket } from "node:net";
import { promisify } from "node:util";
import sharp from "sharp";
import { afterEach, describe, expect, it } from "vitest";
import { locateFfprobe, probeVideo } from "../helpers/ffprobe.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { httpGet, waitFor } from "../helpers/http.ts";
import { jpegsOf, stampOf } from "../helpers/mjpeg.ts";
import { type OpenStream, openStream } from "../helpers/stream.ts";
import { itWithTool } from "../helpers/system-tools.ts";

const _run = promisify(execFile);
const STREAM = "/api/v1/cameras/dogs/stream.mjpeg";

describe("live relay", () => {
  const gateways: TestGateway[] = [];
  const streams: OpenStream[] = [];
  const sockets: Socket[] = [];
  afterEach(async () => {
    for (const stream of streams.splice(0)) stream.close();
    for (const socket of sockets.splice(0)) socket.destroy();
    await Promise.all(gateways.splice(0).map((g) => g.close()));
  });

  async function gateway(): Promise<TestGateway> {
    const gw = await startTestGatewayWithRelay({});
    gateways.push(gw);
    return gw;
  }

  const emulatorSubscribers = (gw: TestGateway) =>
    gw.cameras.get("dogs")?.camera.frameSource(1, 1).subscribers ?? -1;
  const view = async (gw: TestGateway, path = STREAM) => {
    const stream = await openStream(gw.url, path, undefined);
    streams.push(stream);
    return stream;
  };

  it("serves N viewers, REST and passthrough alike, from one upstream connection", async () => {
    const gw = await gateway();
    const viewers = await Promise.all([
      ...Array.from({ length: 5 }, () => view(gw)),
      view(gw, "/cam/dogs/cgi-bin/mjpg/video.cgi?channel=1&subtype=1"),
      view(gw, "/cam/dogs/cgi-bin/mjpg/video.cgi?channel=1&subtype=1"),
    ]);
    for (const viewer of viewers) {
      expect(viewer.response.headers["content-type"]).toBe("multipart/x-mixed-replace; boundary=myboundary");
      await viewer.waitUntil((b) => jpegsOf(b).length >= 3, 10_000, "three frames");
    }
    expect(emulatorSubscribers(gw)).toBe(1);
    const metrics = (await httpGet(`${gw.url}/metrics`)).text;
    expect(metrics).toMatch(/camgate_relay_viewers\{camera="dogs",channel="1",subtype="1"\} 7/);
    expect(metrics).toMatch(
      /camgate_relay_upstream_connects_total\{camera="dogs",channel="1",subtype="1"\} 1/,
    );
    const counters = gw.cameras.get("dogs")?.control.counters();
    expect(counters?.peakConnections).toBe(1);
    const hub = gw.camgate.cameras.get("dogs");
    expect(hub?.session.budget.inUse).toBe(1);
  });

  it("a new viewer gets the latest frame at once; fps caps a viewer's rate", async () => {
    const gw = await gateway();
    const first = await view(gw);
    await first.waitUntil((b) => jpegsOf(b).length >= 2, 10_000, "the hub to run");
    const started = Date.now();
    const second = await view(gw);
    await second.waitUntil((b) => jpegsOf(b).length >= 1, 10_000, "the first frame");
    const capped = await view(gw, `${STREAM}?fps=2`);
    await first.waitUntil((b) => jpegsOf(b).length >= 40, 20_000, "40 frames on the uncapped viewer");
    const cappedFrames = jpegsOf(capped.bytes()).length;
    const elapsed = Date.now() - started;
    // At 2 fps the capped viewer gets about elapsed/500 frames, far fewer than the 25 fps one.
    expect(cappedFrames).toBeLessThanOrEqual(Math.ceil(elapsed / 500) + 1);
    expect(cappedFrames).toBeGreaterThanOrEqual(1);
  });

  it("closes the upstream after the linger when the last viewer leaves, and reopens for the next", async () => {
    const gw = await startTestGatewayWithRelay({ lingerMs: 300 });
    gateways.push(gw);
    const viewer = await view(gw);
    await viewer.waitUntil((b) => jpegsOf(b).length >= 1, 10_000, "a frame");
    viewer.close();
    await waitFor(() => (emulatorSubscribers(gw) === 0 ? true : undefined), 5000, "the upstream to close");
    expect(gw.camgate.cameras.get("dogs")?.session.budget.inUse).toBe(0);
    const again = await view(gw);
    await again.waitUntil((b) => jpegsOf(b).length >= 1, 10_000, "a frame after reopening");
    expect(emulatorSubscribers(gw)).toBe(1);
  });

  it("a stalled viewer does not stop frames to a healthy one, and its backlog stays bounded", async () => {
    const gw = await gateway();
    const healthy = await view(gw);
    await healthy.waitUntil((b) => jpegsOf(b).length >= 1, 10_000, "a frame");
    // A client that sends its request and never reads.
    const port = Number(new URL(gw.url).port);
    const stalled = connect(port, "127.0.0.1");
    sockets.push(stalled);
    stalled.on("connect", () => {
      stalled.write(`GET ${STREAM} HTTP/1.1\r\nHost: x\r\n\r\n`);
      stalled.pause();
    });
    const stats = async () => {
      const res = await httpGet(`${gw.url}/api/v1/relay`);
      return JSON.parse(res.text) as { hubs: { framesDropped: number; viewers: number }[] };
    };
    await waitFor(
      async () => (((await stats()).hubs[0]?.framesDropped ?? 0) > 5 ? true : undefined),
      30_000,
      "the stalled viewer to drop frames",
    );
    const before = jpegsOf(healthy.bytes()).length;
    await healthy.waitUntil(
      (b) => jpegsOf(b).length >= before + 10,
      10_000,
      "ten more frames on the healthy viewer",
    );
    const backlogs = (await httpGet(`${gw.url}/api/v1/relay`)).text;
    const parsed = JSON.parse(backlogs) as { hubs: { backlogs: { writable: number; pending: number }[] }[] };
    const worst = Math.max(...(parsed.hubs[0]?.backlogs ?? []).map((b) => b.writable + b.pending));
    // One frame in Node's buffer and at most one pending: well under 1 MB with 40 KB frames.
    expect(worst).toBeLessThan(1024 * 1024);
  }, 60_000);

  it("after a camera reboot, connected viewers get live frames again without reconnecting (and an offline picture meanwhile)", async () => {
    const gw = await startTestGatewayWithRelay({ stallMs: 1000 });
    gateways.push(gw);
    const viewer = await view(gw);
    await viewer.waitUntil((b) => jpegsOf(b).length >= 2, 10_000, "frames");
    const control = gw.cameras.get("dogs")?.control;
    if (!control) throw new Error("no camera");
    const rebooted = control.reboot(2500);
    await viewer.waitUntil(
      (b) => jpegsOf(b).some((jpeg) => stampOf(jpeg) === undefined),
      10_000,
      "the offline picture",
    );
    await rebooted;
    const backAt = Date.now();
    await viewer.waitUntil(
      (b) => jpegsOf(b).some((jpeg) => (stampOf(jpeg)?.t ?? 0) > backAt),
      20_000,
      "live frames after the reboot",
    );
    expect(viewer.response.destroyed).toBe(false);
  }, 40_000);

  it("a silently stalled camera stream is detected and reconnected", async () => {
    const gw = await startTestGatewayWithRelay({ stallMs: 800 });
    gateways.push(gw);
    const viewer = await view(gw);
    await viewer.waitUntil((b) => jpegsOf(b).length >= 2, 10_000, "frames");
    const control = gw.cameras.get("dogs")?.control;
    control?.stallStreams(true);
    await waitFor(
      async () => {
        const stats = JSON.parse((await httpGet(`${gw.url}/api/v1/relay`)).text) as {
          hubs: { stalls: number }[];
        };
        return (stats.hubs[0]?.stalls ?? 0) >= 1 ? true : undefined;
      },
      10_000,
      "a stall to be counted",
    );
    control?.stallStreams(false);
    const resumed = Date.now();
    await viewer.waitUntil(
      (b) => jpegsOf(b).some((jpeg) => (stampOf(jpeg)?.t ?? 0) > resumed),
      15_000,
      "frames after the stall",
    );
  }, 30_000);

  itWithTool(
    "ffprobe",
    locateFfprobe,
    "ffprobe reads the gateway's stream as MJPEG of the camera's size",
    async () => {
      const gw = await gateway();
      expect(await probeVideo(`${gw.url}${STREAM}`)).toBe("mjpeg,640,480");
    },
    30_000,
  );
});

describe("snapshots", () => {
  const gateways: TestGateway[] = [];
  const streams: OpenStream[] = [];
  afterEach(async () => {
    for (const stream of streams.splice(0)) stream.close();
    await Promise.all(gateways.splice(0).map((g) => g.close()));
  });

  const snapshotCalls = (gw: TestGateway) =>
    gw.cameras.get("dogs")?.control.counters().requestsByPath["/cgi-bin/snapshot.cgi"] ?? 0;

  it("100 concurrent requests without a live stream cost one camera request", async () => {
    const gw = await startTestGatewayWithRelay({});
    gateways.push(gw);
    gw.cameras.get("dogs")?.control.setResponseDelay(300);
    const responses = await Promise.all(
      Array.from({ length: 100 }, () => httpGet(`${gw.url}/api/v1/cameras/dogs/snapshot.jpg`)),
    );
    expect(responses.every((r) => r.status === 200 && r.headers["content-type"] === "image/jpeg")).toBe(true);
    expect(new Set(responses.map((r) => r.body.toString("base64"))).size).toBe(1);
    // The camera saw the snapshot at most twice: a Digest challenge and the one signed request.
    expect(snapshotCalls(gw)).toBeLessThanOrEqual(2);
    expect(JSON.parse((await httpGet(`${gw.url}/api/v1/relay`)).text).snapshotCameraRequests).toBe(1);
  });

  it("with a live stream, snapshots are the latest frame and cost no camera request", async () => {
    const gw = await startTestGatewayWithRelay({});
    gateways.push(gw);
    const viewer = await openStream(gw.url, STREAM, undefined);
    streams.push(viewer);
    await viewer.waitUntil((b) => jpegsOf(b).length >= 2, 10_000, "frames");
    const responses = await Promise.all(
      Array.from({ length: 100 }, () => httpGet(`${gw.url}/api/v1/cameras/dogs/snapshot.jpg`)),
    );
    expect(responses.every((r) => r.status === 200)).toBe(true);
    expect(snapshotCalls(gw)).toBe(0);
    const meta = await sharp(responses[0]?.body).metadata();
    expect([meta.width, meta.height]).toEqual([640, 480]);
  });

  it("caches by size: a resized request never gets the full picture, nor the reverse", async () => {
    const gw = await startTestGatewayWithRelay({});
    gateways.push(gw);
    const small = await httpGet(`${gw.url}/api/v1/cameras/dogs/snapshot.jpg?width=320&maxAge=60000`);
    const full = await httpGet(`${gw.url}/api/v1/cameras/dogs/snapshot.jpg?maxAge=60000`);
    const smallAgain = await httpGet(`${gw.url}/api/v1/cameras/dogs/snapshot.jpg?width=320&maxAge=60000`);
    expect((await sharp(small.body).metadata()).width).toBe(320);
    expect((await sharp(full.body).metadata()).width).toBe(1920);
    expect(smallAgain.body.equals(small.body)).toBe(true);
    expect(snapshotCalls(gw)).toBeLessThanOrEqual(2);
  });

  it("serves the last good picture marked stale when asked, and a problem otherwise", async () => {
    const gw = await startTestGatewayWithRelay({});
    gateways.push(gw);
    const good = await httpGet(`${gw.url}/api/v1/cameras/dogs/snapshot.jpg`);
    await gw.cameras.get("dogs")?.control.stopListening();
    const stale = await httpGet(`${gw.url}/api/v1/cameras/dogs/snapshot.jpg?maxAge=0&allowStale=true`);
    expect(stale.status).toBe(200);
    expect(stale.headers["x-camgate-stale"]).toBe("1");
    expect(Number(stale.headers.age)).toBeGreaterThanOrEqual(0);
    expect(stale.body.equals(good.body)).toBe(true);
    const refused = await httpGet(`${gw.url}/api/v1/cameras/dogs/snapshot.jpg?maxAge=0`);
    expect(refused.status).toBe(502);
    expect(refused.headers["content-type"]).toContain("application/problem+json");
  });
});

async function startTestGatewayWithRelay(relay: Record<string, unknown>, fps = 25): Promise<TestGateway> {
  return startTestGateway({
    cameras: [
      {
        id: "dogs",
        profile: "amcrest-ip2m-841b",
        emulator: { config: { "Encode[0].ExtraFormat[0].Video.FPS": fps }, rebootDurationMs: 400 },
      },
    ],
    relay,
  });
}
