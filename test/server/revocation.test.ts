/**
 * A reload that takes a user's right away ends that user's running streams at once (issue 28): RTSP,
 * MSE, WebRTC, MJPEG and the SSE feed of a removed user; the RTSP session of a user whose cameras no longer
 * include the camera, or whose password changed. Everyone else's streams go on.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Config } from "../../src/config/schema.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { waitFor } from "../helpers/http.ts";
import { openLive } from "../helpers/live.ts";
import { jpegsOf } from "../helpers/mjpeg.ts";
import { RawRtspClient } from "../helpers/rtsp.ts";
import { SseClient } from "../helpers/sse.ts";
import { openStream } from "../helpers/stream.ts";
import { watchWebRtc } from "../helpers/webrtc.ts";

const ALICE = { username: "alice", password: "alice-password-3381" };
const BOB = { username: "bob", password: "bob-password-4471" };
const CAROL = { username: "carol", password: "carol-password-5561" };
const basic = (who: { username: string; password: string }) => ({
  Authorization: `Basic ${Buffer.from(`${who.username}:${who.password}`).toString("base64")}`,
});

let gateway: TestGateway;
let rtspPort: number;

beforeAll(async () => {
  gateway = await startTestGateway({
    cameras: [
      { id: "dogs", profile: "amcrest-ip2m-841b" },
      { id: "cats", profile: "amcrest-ip2m-841b" },
    ],
    server: { rtsp: { listen: "127.0.0.1:0" }, webrtc: { maxSessions: 10 } },
    users: [
      { name: "alice", role: "viewer", password: ALICE.password },
      { name: "bob", role: "viewer", password: BOB.password },
      { name: "carol", role: "viewer", password: CAROL.password },
    ],
    relay: { lingerMs: 300 },
  });
  rtspPort = Number(new URL(gateway.camgate.rtspUrl ?? "").port);
});

afterAll(async () => {
  await gateway?.close();
});

async function rtspViewer(who: { username: string; password: string }): Promise<RawRtspClient> {
  const client = new RawRtspClient(rtspPort, who);
  await client.play(`rtsp://127.0.0.1:${rtspPort}/dogs`);
  await client.waitForFrames(0, 5);
  return client;
}

function reloadWith(users: Config["users"]) {
  return gateway.camgate.reload({ ...gateway.config, users });
}

describe("a reload that takes a right away", () => {
  it("ends every stream of a removed user, and nobody else's", async () => {
    const aliceRtsp = await rtspViewer(ALICE);
    const carolRtsp = await rtspViewer(CAROL);
    const live = await openLive(`${gateway.url}/api/v1/cameras/dogs/live`, { headers: basic(ALICE) });
    await waitFor(() => (live.binaries.length >= 3 ? true : undefined), 15_000, "MSE fragments");
    const mjpeg = await openStream(gateway.url, "/api/v1/cameras/dogs/stream.mjpeg", undefined, basic(ALICE));
    await mjpeg.waitUntil((bytes) => jpegsOf(bytes).length >= 1, 15_000, "an MJPEG frame");
    const mjpegEnded = new Promise<void>((resolve) => mjpeg.response.once("close", () => resolve()));
    const sse = new SseClient(`${gateway.url}/api/v1/events/stream`, basic(ALICE));
    expect(await sse.open()).toBe(200);
    const sseEnded = sse.ended();
    const webrtc = await watchWebRtc(`${gateway.url}/api/v1/cameras/dogs/webrtc`, basic(ALICE));
    expect(webrtc.status).toBe(201);
    try {
      const grantsBefore = gateway.camgate.webrtc?.size;
      expect(grantsBefore).toBe(1);
      await reloadWith(gateway.config.users.filter((user) => user.name !== "alice"));
      await aliceRtsp.whenClosed();
      expect((await live.closed).code).toBe(1008);
      await mjpegEnded;
      await sseEnded;
      await waitFor(() => (gateway.camgate.webrtc?.size === 0 ? true : undefined), 5000, "WebRTC ended");
      // Carol watches on.
      const before = carolRtsp.frameCounts.get(0) ?? 0;
      await carolRtsp.waitForFrames(0, before + 5);
      expect(carolRtsp.closed).toBe(false);
    } finally {
      for (const client of [aliceRtsp, carolRtsp]) client.close();
      live.close();
      mjpeg.close();
      sse.close();
      await webrtc.close();
    }
  });

  it("ends a user's RTSP session when the camera leaves their list, or their password changes", async () => {
    const bob = await rtspViewer(BOB);
    const carol = await rtspViewer(CAROL);
    try {
      const users = gateway.config.users.filter((user) => user.name !== "alice");
      await reloadWith(users.map((user) => (user.name === "bob" ? { ...user, cameras: ["cats"] } : user)));
      await bob.whenClosed();
      expect(carol.closed).toBe(false);
      await reloadWith(
        users.map((user) => (user.name === "carol" ? { ...user, password: "carol-new-password-1" } : user)),
      );
      await carol.whenClosed();
    } finally {
      bob.close();
      carol.close();
    }
  });
});
