/**
 * The emulator's ONVIF face checked by clients that share no code with it or with camgate: the npm `onvif`
 * client (which learns the device's clock from GetSystemDateAndTime, as Home Assistant does) and curl for
 * HTTP Digest. And its firmware quirks, each of which camgate's client must survive: open operations,
 * the wall clock reported as UTC and judged against, a nonce accepted once, `onvif-digest` nonces, Dahua's
 * global login-check switch.
 */
import { createHash, randomBytes } from "node:crypto";
import type { Cam } from "onvif";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningEmulator, startEmulator } from "../../src/emulator/index.ts";
import { call, connectCam } from "../helpers/onvif.ts";
import { runTool } from "../helpers/rtsp.ts";
import { findTool, itWithTool } from "../helpers/system-tools.ts";

const PASSWORD = "onvif-camera-pw-5521";
const CLOCK_AHEAD_MS = 7 * 60_000;

let emulator: RunningEmulator;
const camera = () => {
  const handle = emulator.cameras[0];
  if (!handle) throw new Error("no emulated camera");
  return handle;
};

function connect(password = PASSWORD): Promise<Cam> {
  return connectCam({ port: camera().port, username: "admin", password });
}

function envelope(operation: string, header = ""): string {
  return `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Header>${header}</s:Header><s:Body><${operation} xmlns="http://www.onvif.org/ver10/device/wsdl"/></s:Body></s:Envelope>`;
}

function token(created: string, nonce: Buffer, password = PASSWORD): string {
  const digest = createHash("sha1")
    .update(Buffer.concat([nonce, Buffer.from(created), Buffer.from(password)]))
    .digest("base64");
  return `<Security xmlns="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"><UsernameToken><Username>admin</Username><Password>${digest}</Password><Nonce>${nonce.toString("base64")}</Nonce><Created>${created}</Created></UsernameToken></Security>`;
}

async function post(body: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${camera().url}/onvif/device_service`, {
    method: "POST",
    headers: { "content-type": "application/soap+xml", ...headers },
    body,
  });
  return { status: response.status, text: await response.text(), headers: response.headers };
}

beforeAll(async () => {
  emulator = await startEmulator({
    profile: "amcrest-ip2m-841b",
    password: PASSWORD,
    clockOffsetMs: CLOCK_AHEAD_MS,
  });
});

afterAll(async () => {
  await emulator?.close();
});

describe("the emulator's ONVIF face, used by the npm onvif client", () => {
  it("gives device info, profiles, a stream URI and a snapshot URI on the camera's clock", async () => {
    const cam = await connect();
    const info = await call<{ serialNumber?: string; model?: string }>((done) =>
      cam.getDeviceInformation(done),
    );
    expect(String(info.serialNumber)).toBe(camera().serial);
    expect(String(info.model)).toBe("IP2M-841B");
    const tokens = (cam.profiles ?? []).map((profile) => profile.$.token);
    expect(tokens).toEqual(["MediaProfile000", "MediaProfile001"]);
    const stream = await call<{ uri: string }>((done) =>
      cam.getStreamUri({ protocol: "RTSP", profileToken: "MediaProfile000" }, done),
    );
    expect(stream.uri).toBe(
      `rtsp://127.0.0.1:${camera().rtspPort}/cam/realmonitor?channel=1&subtype=0&unicast=true&proto=Onvif`,
    );
    const snapshot = await call<{ uri: string }>((done) =>
      cam.getSnapshotUri({ profileToken: "MediaProfile000" }, done),
    );
    expect(snapshot.uri).toBe(`${camera().url}/onvifsnapshot/media_service/snapshot?channel=1&subtype=0`);
    // The client signed with the clock it learnt; nothing was refused.
    expect(camera().camera.onvif.counters.refused).toBe(0);
  });

  it("moves with ContinuousMove and stops", async () => {
    const cam = await connect();
    await call((done) => cam.continuousMove({ x: 0.5, y: 0, profileToken: "MediaProfile000" }, done));
    expect(camera().control.ptzMotion().panning).toBe(true);
    await call((done) => cam.stop({ profileToken: "MediaProfile000", panTilt: true, zoom: true }, done));
    expect(camera().control.ptzMotion().panning).toBe(false);
  });

  it("delivers the motion state first, then a motion from its event hub, through a PullPoint", async () => {
    const cam = await connect();
    await call((done) => cam.createPullPointSubscription(done));
    const initial = await call<{ notificationMessage?: unknown }>((done) =>
      cam.pullMessages({ messageLimit: 10 }, done),
    );
    expect(JSON.stringify(initial.notificationMessage)).toContain("tns1:VideoSource/MotionAlarm");
    expect(JSON.stringify(initial.notificationMessage)).toContain("Initialized");
    const pulled = call<{ notificationMessage?: unknown }>((done) =>
      cam.pullMessages({ messageLimit: 10 }, done),
    );
    camera().control.trigger("VideoMotion", "Start");
    const text = JSON.stringify((await pulled).notificationMessage);
    expect(text).toContain("tns1:VideoSource/MotionAlarm");
    expect(text).toContain("Changed");
    await call((done) => cam.unsubscribe(done));
    camera().control.trigger("VideoMotion", "Stop");
  });
});

describe("the emulator's ONVIF firmware quirks", () => {
  it("answers GetSystemDateAndTime without login, with its wall clock as UTC", async () => {
    const answer = await post(envelope("GetSystemDateAndTime"));
    expect(answer.status).toBe(200);
    const hour = Number(/<tt:UTCDateTime><tt:Time><tt:Hour>(\d+)/.exec(answer.text)?.[1]);
    expect(hour).toBe(new Date(Date.now() + CLOCK_AHEAD_MS).getUTCHours());
  });

  it("judges Created against that clock (±5 min), and takes a nonce once", async () => {
    const onCameraClock = new Date(Date.now() + CLOCK_AHEAD_MS).toISOString();
    const nonce = randomBytes(16);
    const first = await post(envelope("GetDeviceInformation", token(onCameraClock, nonce)));
    expect(first.status).toBe(200);
    const replay = await post(envelope("GetDeviceInformation", token(onCameraClock, nonce)));
    expect(replay.status).toBe(400);
    expect(replay.text).toContain("ter:NotAuthorized");
    const onOurClock = await post(
      envelope("GetDeviceInformation", token(new Date().toISOString(), randomBytes(16))),
    );
    expect(onOurClock.status).toBe(400);
    expect(camera().camera.onvif.counters.replays).toBe(1);
    expect(camera().camera.onvif.counters.staleCreated).toBeGreaterThanOrEqual(1);
  });

  it("challenges a request without a token for HTTP Digest, with an onvif-digest nonce", async () => {
    const answer = await post(envelope("GetDeviceInformation"));
    expect(answer.status).toBe(401);
    const nonce = /nonce="([^"]+)"/.exec(answer.headers.get("www-authenticate") ?? "")?.[1] ?? "";
    expect(Buffer.from(nonce, "base64").toString("utf8")).toMatch(/^onvif-digest:\d+$/);
  });

  itWithTool(
    "curl",
    () => findTool("curl", ["curl"], ["--version"]),
    "accepts HTTP Digest from curl",
    async (tool) => {
      const result = await runTool(
        tool,
        [
          "-s",
          "--digest",
          "-u",
          `admin:${PASSWORD}`,
          "-H",
          "Content-Type: application/soap+xml",
          "--data-binary",
          "@-",
          "-w",
          "\n%{http_code}",
          `${camera().url}/onvif/device_service`,
        ],
        15_000,
        envelope("GetDeviceInformation"),
      );
      const text = result.stdout.toString("utf8");
      expect(text).toContain(`<tds:SerialNumber>${camera().serial}</tds:SerialNumber>`);
      expect(text.trim().endsWith("200")).toBe(true);
    },
  );

  it("skips the login check when UserGlobal.OnvifLoginCheck is off (Dahua's global switch)", async () => {
    camera().control.setConfig("UserGlobal.OnvifLoginCheck", false);
    try {
      expect((await post(envelope("GetDeviceInformation"))).status).toBe(200);
    } finally {
      camera().control.setConfig("UserGlobal.OnvifLoginCheck", true);
    }
    expect((await post(envelope("GetDeviceInformation"))).status).toBe(401);
  });
});
