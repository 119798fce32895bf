/**
 * camgate's ONVIF client (`cameras[].protocol: onvif`) against two ONVIF devices written apart from it: the
 * emulator's ONVIF face (Dahua firmware quirks: open GetSystemDateAndTime, a clock 7 minutes off that it
 * reports as UTC, NotAuthorized faults, a PullPoint fed by its event hub, its own snapshot path) and
 * camgate's own ONVIF face in front of a Dahua camera (another process's worth of code: signed stream
 * URIs, a snapshot on another port, camgate's users). Through camgate, such a camera streams (ffprobe
 * reads camgate's RTSP), snapshots, moves and sends events like a Dahua camera does.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { passwordDigest } from "../../src/protocol/ws-security.ts";
import { locateFfprobe, probeVideo } from "../helpers/ffprobe.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { freePort, waitFor } from "../helpers/http.ts";
import { itWithTool } from "../helpers/system-tools.ts";

const OPERATOR = { username: "olga", password: "olga-password-7731" };
const SEVEN_MINUTES = 7 * 60_000;

let front: TestGateway;
let outer: TestGateway;
let onvifPort: number;

const basic = (who: { username: string; password: string }) =>
  `Basic ${Buffer.from(`${who.username}:${who.password}`).toString("base64")}`;

function api(gateway: TestGateway, path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${gateway.url}${path}`, {
    ...init,
    headers: { authorization: basic(OPERATOR), "content-type": "application/json", ...init.headers },
  });
}

function emulated(id: string) {
  const handle = front.cameras.get(id);
  if (!handle) throw new Error(`no emulated camera ${id}`);
  return handle;
}

async function motionEvents(gateway: TestGateway, camera: string): Promise<{ action: string }[]> {
  const response = await api(gateway, `/api/v1/events?camera=${camera}&code=VideoMotion`);
  return ((await response.json()) as { events: { action: string }[] }).events;
}

beforeAll(async () => {
  onvifPort = await freePort();
  const users = [{ name: OPERATOR.username, role: "operator", password: OPERATOR.password }];
  front = await startTestGateway({
    cameras: [
      // A Dahua camera with camgate's ONVIF face in front of it.
      { id: "yard", profile: "amcrest-ip2m-841b", config: { onvifPort } },
      // Cameras reached by ONVIF: the emulator's face, one of them with a wrong password.
      {
        id: "porch",
        profile: "amcrest-ip2m-841b",
        emulator: { clockOffsetMs: SEVEN_MINUTES },
        config: { protocol: "onvif", talk: "backchannel" },
      },
      {
        id: "gate",
        profile: "amcrest-ipm-723w",
        config: { protocol: "onvif", password: "not-the-password" },
      },
    ],
    server: { rtsp: { listen: "127.0.0.1:0" }, onvif: { discoveryPort: 0 } },
    users,
    events: { enabled: true, heartbeatSeconds: 1, snapshotCodes: [] },
  });
  // A second camgate that reaches the first one's face as an ONVIF camera, as an NVR would.
  outer = await startTestGateway({
    emulators: new Map(),
    cameras: [
      {
        id: "far",
        profile: "amcrest-ip2m-841b",
        config: {
          protocol: "onvif",
          url: `http://127.0.0.1:${onvifPort}`,
          username: OPERATOR.username,
          password: OPERATOR.password,
        },
      },
    ],
    server: { rtsp: { listen: "127.0.0.1:0" } },
    users,
    events: { enabled: true, heartbeatSeconds: 1, snapshotCodes: [] },
  });
}, 60_000);

afterAll(async () => {
  await outer?.close();
  await front?.close();
});

describe("a camera with protocol: onvif (the emulator's ONVIF face)", () => {
  it("signs with the camera's clock: 7 minutes off, outside the window, and never refused", async () => {
    const porch = emulated("porch");
    // The quirk is live: a token on our own clock is refused as stale.
    const created = new Date().toISOString();
    const nonce = randomBytes(16);
    const response = await fetch(`${porch.url}/onvif/device_service`, {
      method: "POST",
      headers: { "content-type": "application/soap+xml" },
      body: `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Header><Security xmlns="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"><UsernameToken><Username>admin</Username><Password>${passwordDigest(nonce, created, "camera-secret-9f3")}</Password><Nonce>${nonce.toString("base64")}</Nonce><Created>${created}</Created></UsernameToken></Security></s:Header><s:Body><GetDeviceInformation xmlns="http://www.onvif.org/ver10/device/wsdl"/></s:Body></s:Envelope>`,
    });
    expect(response.status).toBe(400);
    expect(await response.text()).toContain("ter:NotAuthorized");
    const before = porch.camera.onvif.counters.staleCreated;

    const camera = (await (await api(front, "/api/v1/cameras/porch")).json()) as {
      device?: { type?: string };
    };
    expect(camera.device?.type).toBe("IP2M-841B");
    const offset = front.camgate.cameras.get("porch")?.onvif?.client.clockOffsetMs ?? 0;
    expect(Math.abs(offset - SEVEN_MINUTES)).toBeLessThan(5_000);
    expect(porch.camera.onvif.counters.staleCreated).toBe(before);
    expect(porch.camera.onvif.counters.refused).toBe(before);
  });

  itWithTool(
    "ffprobe",
    locateFfprobe,
    "streams through camgate's RTSP from the stream URI the device gave",
    async () => {
      const rtsp = front.camgate.rtspUrl as string;
      const url = rtsp.replace("rtsp://", `rtsp://${OPERATOR.username}:${OPERATOR.password}@`);
      expect(await probeVideo(`${url}/porch`)).toMatch(/^h264,\d+,\d+$/);
      // The device's own stream, reached on the configured host.
      expect(emulated("porch").control.rtspCounters().sessions).toBeGreaterThan(0);
    },
    60_000,
  );

  it("snapshots from the device's snapshot URI", async () => {
    const porch = emulated("porch");
    const before = porch.control.counters().requestsByPath["/onvifsnapshot/media_service/snapshot"] ?? 0;
    const response = await api(front, "/api/v1/cameras/porch/snapshot.jpg");
    expect(response.status).toBe(200);
    expect(Buffer.from(await response.arrayBuffer()).subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
    // The snapshot URI's path, behind the camera's HTTP Digest (a challenge, then the picture).
    expect(porch.control.counters().requestsByPath["/onvifsnapshot/media_service/snapshot"]).toBeGreaterThan(
      before,
    );
    expect(porch.control.counters().requestsByPath["/cgi-bin/snapshot.cgi"]).toBeUndefined();
  });

  it("moves, stops and goes to presets through the one PTZ API", async () => {
    const porch = emulated("porch");
    const start = porch.control.ptzPosition();
    const moved = await api(front, "/api/v1/cameras/porch/ptz", {
      method: "POST",
      body: JSON.stringify({ action: "move", direction: "right", speed: 8 }),
    });
    expect(moved.status).toBeLessThan(300);
    expect(porch.control.ptzMotion().panning).toBe(true);
    await waitFor(() => (porch.control.ptzPosition().pan !== start.pan ? true : undefined), 5_000);
    const stopped = await api(front, "/api/v1/cameras/porch/ptz", {
      method: "POST",
      body: JSON.stringify({ action: "stop" }),
    });
    expect(stopped.status).toBeLessThan(300);
    expect(porch.control.ptzMotion().panning).toBe(false);

    porch.camera.ptz.setPreset(3, "Gate");
    const state = (await (await api(front, "/api/v1/cameras/porch/ptz")).json()) as { presets: unknown[] };
    expect(state.presets).toContainEqual({ index: 3, name: "Gate" });
    const went = await api(front, "/api/v1/cameras/porch/ptz", {
      method: "POST",
      body: JSON.stringify({ action: "gotoPreset", preset: 3 }),
    });
    expect(went.status).toBeLessThan(300);
  });

  it("sends motion from the device's PullPoint into camgate's events, start and stop", async () => {
    const porch = emulated("porch");
    await waitFor(() => (porch.camera.onvif.openSubscriptions > 0 ? true : undefined), 10_000);
    porch.control.trigger("VideoMotion", "Start");
    await waitFor(
      async () => ((await motionEvents(front, "porch")).some((e) => e.action === "start") ? true : undefined),
      10_000,
    );
    porch.control.trigger("VideoMotion", "Stop");
    await waitFor(
      async () => ((await motionEvents(front, "porch")).some((e) => e.action === "stop") ? true : undefined),
      10_000,
    );
  });

  it("refuses what only Dahua's CGI can do, before anything is sent", async () => {
    const porch = emulated("porch");
    const mjpeg = await api(front, "/api/v1/cameras/porch/stream.mjpeg");
    expect(mjpeg.status).toBe(501);
    expect(((await mjpeg.json()) as { code: string }).code).toBe("unsupported");
    expect((await api(front, "/api/v1/cameras/porch/config/Encode")).status).toBe(501);
    const paths = Object.keys(porch.control.counters().requestsByPath);
    expect(paths.filter((path) => path.startsWith("/cgi-bin/"))).toEqual([]);
  });

  it("talks over the RTSP backchannel the owner chose (an ONVIF camera has no CGI audio)", async () => {
    const porch = emulated("porch");
    const before = porch.control.talks().length;
    const socket = new WebSocket(`${front.url.replace(/^http/, "ws")}/api/v1/cameras/porch/talk`, {
      headers: { authorization: basic(OPERATOR) },
    });
    const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
    await new Promise<void>((resolve, reject) => {
      socket.on("message", (data) => {
        const message = JSON.parse(data.toString()) as { type: string; value: string };
        if (message.type === "talk" && message.value === "open") resolve();
        if (message.type === "error") reject(new Error(message.value));
      });
      socket.once("unexpected-response", () => reject(new Error("talk refused")));
    });
    // Half a second of a tone, 16-bit PCM at 8 kHz.
    const pcm = Buffer.alloc(4000 * 2);
    for (let i = 0; i < 4000; i++) pcm.writeInt16LE(Math.round(6000 * Math.sin(i / 3)), i * 2);
    socket.send(pcm);
    socket.send(JSON.stringify({ type: "stop" }));
    await closed;
    const recording = await waitFor(() => {
      const last = porch.control.talks().at(-1);
      return porch.control.talks().length > before && last?.endedAt !== undefined ? last : undefined;
    }, 10_000);
    // The 20 ms that opens a talk, then every sample, as G.711 over RTP.
    expect(recording.bytes.length).toBe(160 + 4000);
    expect(porch.control.counters().requestsByPath["/cgi-bin/audio.cgi"]).toBeUndefined();
  });

  it("costs a camera with a wrong password one failed login, however many ask", async () => {
    const gate = emulated("gate");
    const results = await Promise.all([
      api(front, "/api/v1/cameras/gate/snapshot.jpg"),
      api(front, "/api/v1/cameras/gate/snapshot.jpg"),
      api(front, "/api/v1/cameras/gate/ptz"),
    ]);
    for (const response of results) expect(response.status).toBeGreaterThanOrEqual(400);
    expect(front.camgate.cameras.get("gate")?.session.getHealth().state).toBe("auth-failed");
    expect(gate.control.counters().authFailures).toBe(1);
    expect(gate.camera.onvif.counters.refused).toBe(1);
  });
});

describe("an ONVIF camera that misbehaves", () => {
  it("answers HTML instead of SOAP: a clear error, nothing taken from it", async () => {
    const porch = emulated("porch");
    front.camgate.cameras.forgetDeviceInfo("porch");
    porch.control.serveHostilePage("<html><body><script>alert(1)</script></body></html>");
    try {
      const summary = (await (await api(front, "/api/v1/cameras/porch")).json()) as {
        device?: unknown;
        deviceError?: string;
      };
      expect(summary.device).toBeUndefined();
      expect(summary.deviceError).toMatch(/GetDeviceInformation: HTTP 200, not a SOAP envelope/);
    } finally {
      porch.control.serveHostilePage(undefined);
    }
  });

  it("goes away and comes back: offline, then its PullPoint is made anew and events flow again", async () => {
    const porch = emulated("porch");
    const entry = front.camgate.cameras.get("porch");
    const stream = () => front.camgate.events.sources.streams.get("porch");
    await waitFor(() => (stream()?.current === "live" ? true : undefined), 10_000);
    const reconnects = stream()?.reconnects ?? 0;
    await porch.control.stopListening();
    await waitFor(
      () => (entry?.session.getHealth().state === "offline" ? true : undefined),
      20_000,
      "offline",
    );
    await porch.control.startListening();
    await waitFor(
      () => ((stream()?.reconnects ?? 0) > reconnects && stream()?.current === "live" ? true : undefined),
      20_000,
      "the PullPoint again",
    );
    const before = (await motionEvents(front, "porch")).length;
    porch.control.trigger("VideoMotion", "Start");
    await waitFor(
      async () => ((await motionEvents(front, "porch")).length > before ? true : undefined),
      10_000,
      "a motion after the return",
    );
    porch.control.trigger("VideoMotion", "Stop");
  }, 60_000);
});

describe("camgate's ONVIF client against camgate's own ONVIF face", () => {
  itWithTool(
    "ffprobe",
    locateFfprobe,
    "streams the Dahua camera behind the face, through both camgates' RTSP",
    async () => {
      const rtsp = outer.camgate.rtspUrl as string;
      const url = rtsp.replace("rtsp://", `rtsp://${OPERATOR.username}:${OPERATOR.password}@`);
      expect(await probeVideo(`${url}/far`)).toMatch(/^h264,\d+,\d+$/);
    },
    60_000,
  );

  it("snapshots from the face's signed snapshot URI (on camgate's main port)", async () => {
    const response = await api(outer, "/api/v1/cameras/far/snapshot.jpg");
    expect(response.status).toBe(200);
    expect(Buffer.from(await response.arrayBuffer()).subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
    const info = (await (await api(outer, "/api/v1/cameras/far")).json()) as { device?: { serial?: string } };
    expect(info.device?.serial).toBe(emulated("yard").serial);
  });

  it("moves the camera behind the face and stops it", async () => {
    const yard = emulated("yard");
    const moved = await api(outer, "/api/v1/cameras/far/ptz", {
      method: "POST",
      body: JSON.stringify({ action: "move", direction: "left", speed: 4 }),
    });
    expect(moved.status).toBeLessThan(300);
    expect(yard.control.ptzMotion().panning).toBe(true);
    const stopped = await api(outer, "/api/v1/cameras/far/ptz", {
      method: "POST",
      body: JSON.stringify({ action: "stop" }),
    });
    expect(stopped.status).toBeLessThan(300);
    expect(yard.control.ptzMotion().panning).toBe(false);
  });

  it("pulls the Dahua camera's motion from the face's PullPoint", async () => {
    const yard = emulated("yard");
    // The first camgate's event stream from the camera feeds its face's PullPoints.
    await waitFor(() => (yard.control.eventSubscribers() > 0 ? true : undefined), 10_000);
    // The second camgate's PullPoint on the face is open.
    await waitFor(
      () => (outer.camgate.events.sources.streams.get("far")?.current === "live" ? true : undefined),
      15_000,
    );
    yard.control.trigger("VideoMotion", "Start");
    await waitFor(
      async () => ((await motionEvents(outer, "far")).some((e) => e.action === "start") ? true : undefined),
      15_000,
    );
    yard.control.trigger("VideoMotion", "Stop");
    await waitFor(
      async () => ((await motionEvents(outer, "far")).some((e) => e.action === "stop") ? true : undefined),
      15_000,
    );
  });
});
