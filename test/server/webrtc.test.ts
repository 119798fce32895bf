/**
 * WebRTC over HTTP (WHEP style) with Node viewers: refusals before any media (no rights, a camera the user
 * may not see, a wrong body, an H.265 stream), signed POST URLs for embedding, the session cap, DELETE, and
 * WebRTC, MSE and RTSP viewers together on one camera session. The browser side is test/web/live.test.ts.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PEER_SILENCE_MS } from "../../src/server/webrtc/webrtc-viewer.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { waitFor } from "../helpers/http.ts";
import { openLive } from "../helpers/live.ts";
import { ffmpegCopy, locateFfmpeg, readStamps } from "../helpers/rtsp.ts";
import { itWithTool } from "../helpers/system-tools.ts";
import { makeOffer, type NodeViewer, watchWebRtc } from "../helpers/webrtc.ts";

const TOKEN = "viewer-token-webrtc-8810";
const NARROW = "narrow-token-webrtc-2231";
const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
const MAX_SESSIONS = 4;

let gateway: TestGateway;

beforeAll(async () => {
  gateway = await startTestGateway({
    cameras: [
      { id: "dogs", profile: "amcrest-ip2m-841b" },
      { id: "hevc", profile: "dahua-h265" },
    ],
    server: { rtsp: { listen: "127.0.0.1:0" }, webrtc: { maxSessions: MAX_SESSIONS } },
    users: [
      { name: "vera", role: "viewer", token: TOKEN },
      { name: "nina", role: "viewer", token: NARROW, cameras: ["hevc"] },
    ],
    relay: { lingerMs: 300 },
  });
});

afterAll(async () => {
  await gateway?.close();
});

const webrtcUrl = (camera: string) => `${gateway.url}/api/v1/cameras/${camera}/webrtc`;

async function post(url: string, body: string, headers: Record<string, string>, type = "application/sdp") {
  const response = await fetch(url, { method: "POST", headers: { "Content-Type": type, ...headers }, body });
  return { status: response.status, body: await response.text() };
}

/** Ends each viewer as a WHEP client does: DELETE its session, then close its peer connection. */
async function closeAll(viewers: NodeViewer[]): Promise<void> {
  await Promise.all(
    viewers.map(async (viewer) => {
      if (viewer.location)
        await fetch(`${gateway.url}${viewer.location}`, { method: "DELETE", headers: bearer(TOKEN) });
      await viewer.close();
    }),
  );
  expect(gateway.camgate.webrtc?.size).toBe(0);
}

describe("WebRTC (WHEP style)", () => {
  it("answers nothing without rights: 401 without credentials, 404 for a camera the user may not see", async () => {
    const { pc, sdp } = await makeOffer();
    try {
      expect((await post(webrtcUrl("dogs"), sdp, {})).status).toBe(401);
      expect((await post(webrtcUrl("dogs"), sdp, bearer("wrong-token-000"))).status).toBe(401);
      expect((await post(webrtcUrl("dogs"), sdp, bearer(NARROW))).status).toBe(404);
      expect(gateway.camgate.webrtc?.size).toBe(0);
    } finally {
      await pc.close();
    }
  });

  it("refuses what it cannot answer, with a code that says why", async () => {
    const wrongType = await post(webrtcUrl("dogs"), "v=0\r\n", bearer(TOKEN), "text/plain");
    expect(wrongType.status).toBe(415);
    const notSdp = await post(webrtcUrl("dogs"), "hello", bearer(TOKEN));
    expect(notSdp.status).toBe(400);
    expect(JSON.parse(notSdp.body).code).toBe("bad-offer");
    const noH264 = await post(
      webrtcUrl("dogs"),
      "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 VP8/90000\r\n",
      bearer(TOKEN),
    );
    expect(JSON.parse(noH264.body).code).toBe("bad-offer");
    const { pc, sdp } = await makeOffer();
    try {
      const hevc = await post(webrtcUrl("hevc"), sdp, bearer(TOKEN));
      expect(hevc.status).toBe(422);
      expect(JSON.parse(hevc.body)).toMatchObject({ code: "codec-unsupported" });
    } finally {
      await pc.close();
    }
    expect(gateway.camgate.webrtc?.size).toBe(0);
  });

  it("answers a mangled real offer 201 or 400 bad-offer, never 500 (property; issue 28)", async () => {
    const { pc, sdp } = await makeOffer();
    await pc.close();
    const lines = sdp.split("\r\n").filter((line) => line !== "");
    const mangle = fc.oneof(
      fc.constant((line: string) => line.replace(/^m=(\w+) \d+/, "m=$1 -1")),
      fc.constant((line: string) => line.replace(/\d+/g, "99999999999")),
      fc.constant((line: string) => line.replace(/ /g, "")),
      fc.constant((line: string) => line.slice(0, Math.floor(line.length / 2))),
      fc.constant((_line: string) => ""),
      fc.string({ maxLength: 20 }).map((junk) => (line: string) => `${line}${junk}`),
    );
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: lines.length - 1 }), mangle, async (at, change) => {
        const mangled = lines.map((line, i) => (i === at ? change(line) : line)).join("\r\n");
        const response = await fetch(webrtcUrl("dogs"), {
          method: "POST",
          headers: { "Content-Type": "application/sdp", ...bearer(TOKEN) },
          body: `${mangled}\r\n`,
        });
        const body = await response.text();
        const location = response.headers.get("location");
        if (location) await fetch(`${gateway.url}${location}`, { method: "DELETE", headers: bearer(TOKEN) });
        expect([201, 400]).toContain(response.status);
        if (response.status === 400) expect(JSON.parse(body).code).toBe("bad-offer");
      }),
      { numRuns: 40 },
    );
    const malformed = lines.map((line) => line.replace(/^m=video \d+/, "m=video -1")).join("\r\n");
    const refused = await post(webrtcUrl("dogs"), `${malformed}\r\n`, bearer(TOKEN));
    expect(refused.status).toBe(400);
    expect(gateway.camgate.webrtc?.size).toBe(0);
  });

  itWithTool(
    "ffmpeg",
    locateFfmpeg,
    "WebRTC, MSE and RTSP viewers of the main stream together hold one camera session",
    async () => {
      const camera = gateway.cameras.get("dogs");
      if (!camera) throw new Error("no camera");
      const viewers = await Promise.all(
        Array.from({ length: 3 }, () => watchWebRtc(webrtcUrl("dogs"), bearer(TOKEN))),
      );
      const mse = await Promise.all(
        Array.from({ length: 2 }, () =>
          openLive(`${gateway.url}/api/v1/cameras/dogs/live`, { headers: bearer(TOKEN) }),
        ),
      );
      try {
        expect(viewers.map((v) => v.status)).toEqual([201, 201, 201]);
        expect(viewers[0]?.location).toMatch(/^\/api\/v1\/cameras\/dogs\/webrtc\/[0-9a-f-]{36}$/);
        await waitFor(
          () => (viewers.every((v) => v.videoPackets() > 50 && v.audioPackets() > 5) ? true : undefined),
          20_000,
          "video and audio RTP at every WebRTC viewer",
        );
        await waitFor(
          () => (mse.every((c) => c.binaries.length > 5) ? true : undefined),
          15_000,
          "MSE fragments",
        );
        const rtsp = gateway.camgate.rtspUrl?.replace("rtsp://", `rtsp://vera:${TOKEN}@`);
        const copy = await ffmpegCopy(`${rtsp}/dogs`, 10);
        expect(readStamps(copy.stdout).length).toBe(10);
        expect(camera.control.rtspSessions()).toBe(1);
      } finally {
        for (const client of mse) client.close();
        await closeAll(viewers);
      }
    },
    60_000,
  );

  it("a viewer that goes away without a DELETE is closed once it falls silent", async () => {
    const viewer = await watchWebRtc(webrtcUrl("dogs"), bearer(TOKEN));
    expect(viewer.status).toBe(201);
    await waitFor(() => (viewer.videoPackets() > 10 ? true : undefined), 15_000, "video");
    expect(gateway.camgate.webrtc?.size).toBe(1);
    await viewer.close();
    await waitFor(
      () => (gateway.camgate.webrtc?.size === 0 ? true : undefined),
      PEER_SILENCE_MS + 10_000,
      "the session closed",
    );
    expect(gateway.camgate.webrtc?.ended.failed).toBeGreaterThanOrEqual(1);
  }, 30_000);

  it("DELETE on the session's location ends it; another user's session is not found", async () => {
    const viewer = await watchWebRtc(webrtcUrl("dogs"), bearer(TOKEN));
    try {
      expect(viewer.status).toBe(201);
      const location = `${gateway.url}${viewer.location}`;
      expect((await fetch(location, { method: "DELETE", headers: bearer(NARROW) })).status).toBe(404);
      expect(gateway.camgate.webrtc?.size).toBe(1);
      expect((await fetch(location, { method: "DELETE", headers: bearer(TOKEN) })).status).toBe(204);
      expect(gateway.camgate.webrtc?.size).toBe(0);
      expect((await fetch(location, { method: "DELETE", headers: bearer(TOKEN) })).status).toBe(404);
    } finally {
      await viewer.close();
    }
  });

  it(`serves at most server.webrtc.maxSessions (${MAX_SESSIONS}) viewers; the next gets 503 webrtc-full`, async () => {
    const viewers = await Promise.all(
      Array.from({ length: MAX_SESSIONS }, () => watchWebRtc(webrtcUrl("dogs"), bearer(TOKEN))),
    );
    try {
      expect(viewers.every((v) => v.status === 201)).toBe(true);
      const extra = await watchWebRtc(webrtcUrl("dogs"), bearer(TOKEN));
      await extra.close();
      expect(extra.status).toBe(503);
      expect(JSON.parse(extra.body).code).toBe("webrtc-full");
    } finally {
      await closeAll(viewers);
    }
  });

  it("a signed POST URL starts a viewer of its camera until it expires, and of no other camera", async () => {
    const sign = async (path: string, method = "POST") => {
      const response = await fetch(`${gateway.url}/api/v1/signed-urls`, {
        method: "POST",
        headers: { ...bearer(TOKEN), "Content-Type": "application/json" },
        body: JSON.stringify({ path, method, expiresIn: 60 }),
      });
      return { status: response.status, path: ((await response.json()) as { path?: string }).path ?? "" };
    };
    const signed = await sign("/api/v1/cameras/dogs/webrtc?stream=main");
    expect(signed.status).toBe(201);
    const viewer = await watchWebRtc(`${gateway.url}${signed.path}`);
    expect(viewer.status).toBe(201);
    await closeAll([viewer]);
    const other = await watchWebRtc(`${gateway.url}${signed.path.replace("/dogs/", "/hevc/")}`);
    await other.close();
    expect(other.status).toBe(401);
    const expired = await watchWebRtc(`${gateway.url}${signed.path.replace(/cg_exp=\d+/, "cg_exp=1000")}`);
    await expired.close();
    expect(expired.status).toBe(401);
    // A signed POST is for WebRTC offers only: not for PTZ or config changes.
    expect((await sign("/api/v1/cameras/dogs/ptz")).status).toBe(400);
  });
});
