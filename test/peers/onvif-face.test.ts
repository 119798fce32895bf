/**
 * camgate's ONVIF device face, used by clients we did not write: the npm `onvif` client (what Node NVRs and
 * many scripts use; it signs with WS-Security after learning the device's clock, as Home Assistant's
 * onvif-zeep does), curl for HTTP Digest, ffprobe for the stream URI. The Home Assistant flow end to end
 * (a directed probe, device info, profiles, the stream played, a snapshot, PTZ, a motion event), and the
 * refusals: none of them reaches the camera.
 */
import { randomBytes } from "node:crypto";
import { createSocket } from "node:dgram";
import { request } from "node:http";
import type { Cam } from "onvif";
import { linerase, parseSOAPString } from "onvif/lib/utils.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatDigestAuthorization } from "../../src/protocol/digest.ts";
import { passwordDigest } from "../../src/protocol/ws-security.ts";
import { locateFfprobe } from "../helpers/ffprobe.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { freePort, waitFor } from "../helpers/http.ts";
import { call, connectCam } from "../helpers/onvif.ts";
import { runTool } from "../helpers/rtsp.ts";
import { findTool, itWithTool } from "../helpers/system-tools.ts";

const OPERATOR = { username: "olga", password: "olga-password-7731" };
const VIEWER = { username: "vera", password: "vera-password-2290" };
const OUTSIDER = { username: "otto", password: "otto-password-4410" };

let gateway: TestGateway;
let onvifPort: number;

const emulator = () => {
  const camera = gateway.cameras.get("yard");
  if (!camera) throw new Error("no emulated camera yard");
  return camera;
};

function connect(who: { username: string; password: string }): Promise<Cam> {
  return connectCam({ port: onvifPort, ...who, timeout: 15_000 });
}

/** POSTs a SOAP body to the face as it is: what a replaying attacker would send. */
function post(
  body: string,
  path = "/onvif/device_service",
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port: onvifPort,
        path,
        method: "POST",
        headers: { "Content-Type": "application/soap+xml; charset=utf-8", ...headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString("utf8"),
            headers: res.headers,
          }),
        );
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

/** A request signed as the WS-Security profile says, with a chosen Created and nonce. */
function signed(
  operation: string,
  who: { username: string; password: string },
  created: string,
  nonce: Buffer,
): string {
  return `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Header><Security xmlns="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"><UsernameToken><Username>${who.username}</Username><Password Type="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest">${passwordDigest(nonce, created, who.password)}</Password><Nonce>${nonce.toString("base64")}</Nonce><Created xmlns="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd">${created}</Created></UsernameToken></Security></s:Header><s:Body><${operation} xmlns="http://www.onvif.org/ver10/device/wsdl"/></s:Body></s:Envelope>`;
}

beforeAll(async () => {
  onvifPort = await freePort();
  gateway = await startTestGateway({
    cameras: [
      { id: "yard", profile: "amcrest-ip2m-841b", config: { onvifPort } },
      { id: "shed", profile: "amcrest-ipm-723w" },
    ],
    server: {
      rtsp: { listen: "127.0.0.1:0" },
      onvif: { discoveryPort: 0 },
      // Every refusal here counts toward the address's limit; the tests make more than a day's worth.
      authRateLimit: { failures: 1000, windowSeconds: 60 },
    },
    users: [
      { name: OPERATOR.username, role: "operator", password: OPERATOR.password },
      { name: VIEWER.username, role: "viewer", password: VIEWER.password },
      { name: OUTSIDER.username, role: "operator", password: OUTSIDER.password, cameras: ["shed"] },
    ],
    events: { enabled: true, heartbeatSeconds: 1, snapshotCodes: [] },
  });
});

afterAll(async () => {
  await gateway?.close();
});

describe("camgate's ONVIF face, used by the npm onvif client", () => {
  it("answers a directed WS-Discovery probe with the face's device service", async () => {
    const port = gateway.camgate.onvifDiscoveryPort;
    expect(port).toBeGreaterThan(0);
    const socket = createSocket("udp4");
    await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
    try {
      const answer = new Promise<Buffer>((resolve) => socket.once("message", resolve));
      // The probe the npm onvif client multicasts, sent to camgate's address instead.
      const messageId = `urn:uuid:${randomBytes(16).toString("hex")}`;
      const probe = `<Envelope xmlns="http://www.w3.org/2003/05/soap-envelope" xmlns:dn="http://www.onvif.org/ver10/network/wsdl"><Header><wsa:MessageID xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing">${messageId}</wsa:MessageID><wsa:To xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing">urn:schemas-xmlsoap-org:ws:2005:04:discovery</wsa:To><wsa:Action xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing">http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe</wsa:Action></Header><Body><Probe xmlns="http://schemas.xmlsoap.org/ws/2005/04/discovery"><Types>dn:NetworkVideoTransmitter</Types><Scopes /></Probe></Body></Envelope>`;
      socket.send(probe, port, "127.0.0.1");
      const xml = (await answer).toString("utf8");
      // Read by the onvif client's own parser, as its Discovery does.
      const data = await new Promise<unknown[]>((resolve, reject) =>
        parseSOAPString(xml, (error, parsed) => (error ? reject(error) : resolve(parsed)), 200),
      );
      const match = (
        linerase(data) as {
          probeMatches: { probeMatch: { XAddrs: string; endpointReference: { address: string } } };
        }
      ).probeMatches.probeMatch;
      expect(match.XAddrs).toBe(`http://127.0.0.1:${onvifPort}/onvif/device_service`);
      expect(match.endpointReference.address).toMatch(/^urn:uuid:[0-9a-f-]{36}$/);
      expect(xml).toContain(`<a:RelatesTo>${messageId}</a:RelatesTo>`);
    } finally {
      socket.close();
    }
  });

  it("gives device info and the main profile, signed with WS-Security on the device's clock", async () => {
    const cam = await connect(OPERATOR);
    const info = await call<{ serialNumber?: string }>((done) => cam.getDeviceInformation(done));
    expect(String(info.serialNumber)).toBe(emulator().serial);
    const main = (cam.profiles ?? []).find((profile) => profile.$.token === "main");
    expect(main?.videoEncoderConfiguration?.encoding).toBe("H264");
    expect(Number(main?.videoEncoderConfiguration?.resolution.width)).toBeGreaterThan(0);
  });

  itWithTool(
    "ffprobe",
    locateFfprobe,
    "hands out a stream URI that ffprobe plays with its token alone, and a snapshot URI",
    async () => {
      const cam = await connect(OPERATOR);
      const stream = await call<{ uri: string }>((done) =>
        cam.getStreamUri({ protocol: "RTSP", profileToken: "main" }, done),
      );
      expect(stream.uri).toMatch(/^rtsp:\/\/127\.0\.0\.1:\d+\/yard\?cg_exp=\d+&cg_user=olga&cg_sig=/);
      expect(stream.uri).not.toContain(OPERATOR.password);
      const probe = await runTool("ffprobe", [
        "-v",
        "error",
        "-rtsp_transport",
        "tcp",
        "-select_streams",
        "v:0",
        "-show_entries",
        "stream=codec_name",
        "-of",
        "csv=p=0",
        stream.uri,
      ]);
      expect(probe.stderr).toBe("");
      expect(probe.stdout.toString("utf8").trim()).toBe("h264");

      const snapshot = await call<{ uri: string }>((done) =>
        cam.getSnapshotUri({ profileToken: "main" }, done),
      );
      const response = await fetch(snapshot.uri);
      expect(response.status).toBe(200);
      const jpeg = Buffer.from(await response.arrayBuffer());
      expect(jpeg.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
    },
    60_000,
  );

  it("moves and stops PTZ for an operator, and goes to a preset", async () => {
    const cam = await connect(OPERATOR);
    await call((done) => cam.continuousMove({ x: 0.5, y: 0, timeout: 5000 }, done));
    await waitFor(
      () => (emulator().control.ptzMotion().panning ? true : undefined),
      5000,
      "the camera to pan",
    );
    await call((done) => cam.stop({ panTilt: true, zoom: true }, done));
    await waitFor(
      () => (emulator().control.ptzMotion().panning ? undefined : true),
      5000,
      "the camera to stop",
    );
    const saved = await call<{ setPresetResponse?: unknown }>((done) =>
      cam.setPreset({ presetName: "gate" }, done),
    );
    expect(JSON.stringify(saved)).toContain("1");
    const presets = await call<Record<string, { $: { token: string } }>>((done) => cam.getPresets({}, done));
    expect(String(presets.gate?.$.token)).toBe("1");
    await call((done) => cam.gotoPreset({ preset: "1" }, done));
  });

  it("refuses a viewer's PTZ move before anything reaches the camera", async () => {
    const cam = await connect(VIEWER);
    const before = emulator().control.counters().requests;
    await expect(call((done) => cam.continuousMove({ x: -0.5, y: 0 }, done))).rejects.toThrow(/operator/);
    expect(emulator().control.counters().requests).toBe(before);
    expect(emulator().control.ptzMotion().panning).toBe(false);
  });

  it("delivers a motion event through a PullPoint subscription", async () => {
    const cam = await connect(VIEWER);
    await call((done) => cam.createPullPointSubscription(done));
    const initial = await call<{ notificationMessage?: unknown }>((done) =>
      cam.pullMessages({ messageLimit: 10 }, done),
    );
    expect(JSON.stringify(initial.notificationMessage)).toContain("tns1:VideoSource/MotionAlarm");
    const pulled = call<{ notificationMessage?: unknown }>((done) =>
      cam.pullMessages({ messageLimit: 10 }, done),
    );
    await waitFor(
      () => (emulator().control.eventSubscribers() > 0 ? true : undefined),
      10_000,
      "the event stream",
    );
    emulator().control.trigger("VideoMotion", "Start");
    const messages = [(await pulled).notificationMessage].flat() as {
      topic: { _: string };
      message: {
        message: {
          $: { PropertyOperation: string };
          data: { simpleItem: { $: { Name: string; Value: unknown } } };
        };
      };
    }[];
    const motion = messages.find((m) => m.topic._ === "tns1:VideoSource/MotionAlarm");
    expect(motion?.message.message.$.PropertyOperation).toBe("Changed");
    expect(motion?.message.message.data.simpleItem.$).toEqual({ Name: "State", Value: true });
    await call((done) => cam.unsubscribe(done));
  });
});

describe("WS-Security and HTTP Digest on the ONVIF face", () => {
  const nothingReachesTheCamera = async (send: () => Promise<{ status: number; body: string }>) => {
    const before = emulator().control.counters().requests;
    const answer = await send();
    expect(emulator().control.counters().requests).toBe(before);
    return answer;
  };

  it("refuses a wrong password", async () => {
    // The client connects (the clock and the service list are open), learns no profiles, and is refused.
    const cam = await connect({ username: OPERATOR.username, password: "not-the-password" });
    expect(cam.profiles ?? []).toEqual([]);
    await expect(call((done) => cam.getDeviceInformation(done))).rejects.toThrow(
      /wrong user name or password/,
    );
    const answer = await nothingReachesTheCamera(() =>
      post(
        signed(
          "GetDeviceInformation",
          { ...OPERATOR, password: "wrong" },
          new Date().toISOString(),
          randomBytes(16),
        ),
      ),
    );
    expect(answer.status).toBe(400);
    expect(answer.body).toContain("ter:NotAuthorized");
  });

  it("refuses a replayed request (the same nonce twice)", async () => {
    const cam = await connect(OPERATOR);
    let captured: string | undefined;
    cam.on("rawRequest", (body: string) => {
      if (body.includes("GetDeviceInformation")) captured = body;
    });
    await call((done) => cam.getDeviceInformation(done));
    expect(captured).toContain("PasswordDigest");
    const answer = await nothingReachesTheCamera(() => post(captured ?? ""));
    expect(answer.status).toBe(400);
    expect(answer.body).toMatch(/ter:NotAuthorized[\s\S]*used before/);
  });

  it("refuses a replay whose nonce is re-encoded (padding, junk, URL-safe alphabet; issue 28)", async () => {
    const created = new Date().toISOString();
    // 16 bytes whose base64 has '+' and '/' (so a URL-safe spelling differs) and '=' padding.
    const nonce = Buffer.from("fbff3ffefbff3ffefbff3ffefbff3f01", "hex");
    const original = signed("GetDeviceInformation", OPERATOR, created, nonce);
    expect((await post(original)).status).toBe(200);
    const text = nonce.toString("base64");
    const spellings = [
      `${text}=`,
      text.replace(/=+$/, ""),
      text.replace(/\+/g, "-").replace(/\//g, "_"),
      ` ${text.slice(0, 4)}*${text.slice(4)}`,
    ];
    for (const spelling of spellings) {
      const replay = original.replace(`<Nonce>${text}</Nonce>`, `<Nonce>${spelling}</Nonce>`);
      expect(replay).not.toBe(original);
      const answer = await nothingReachesTheCamera(() => post(replay));
      expect(answer.status).toBe(400);
      expect(answer.body).toContain("ter:NotAuthorized");
    }
  });

  it("refuses a Created outside the window, though the digest is right", async () => {
    const stale = new Date(Date.now() - 10 * 60_000).toISOString();
    const answer = await nothingReachesTheCamera(() =>
      post(signed("GetDeviceInformation", OPERATOR, stale, randomBytes(16))),
    );
    expect(answer.status).toBe(400);
    expect(answer.body).toMatch(/ter:NotAuthorized[\s\S]*window/);
    const fresh = await post(
      signed("GetDeviceInformation", OPERATOR, new Date().toISOString(), randomBytes(16)),
    );
    expect(fresh.status).toBe(200);
  });

  it("refuses a user without rights to this camera", async () => {
    const answer = await nothingReachesTheCamera(() =>
      post(
        signed("GetProfiles", OUTSIDER, new Date().toISOString(), randomBytes(16)),
        "/onvif/media_service",
      ),
    );
    expect(answer.status).toBe(400);
    expect(answer.body).toContain("ter:NotAuthorized");
  });

  it("answers GetSystemDateAndTime unauthenticated, and asks for credentials otherwise", async () => {
    const clock = await post(
      '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><GetSystemDateAndTime xmlns="http://www.onvif.org/ver10/device/wsdl"/></s:Body></s:Envelope>',
    );
    expect(clock.status).toBe(200);
    expect(clock.body).toContain("<tt:UTCDateTime>");
    const unsigned = await nothingReachesTheCamera(() =>
      post(
        '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><GetDeviceInformation xmlns="http://www.onvif.org/ver10/device/wsdl"/></s:Body></s:Envelope>',
      ),
    );
    expect(unsigned.status).toBe(401);
  });

  const curl = () => findTool("curl", ["curl"], ["--version"]);
  itWithTool(
    "curl",
    curl,
    "accepts HTTP Digest from curl, and refuses it with a wrong password",
    async (tool) => {
      const body =
        '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><GetDeviceInformation xmlns="http://www.onvif.org/ver10/device/wsdl"/></s:Body></s:Envelope>';
      const run = (password: string) =>
        runTool(
          tool,
          [
            "-s",
            "--digest",
            "-u",
            `${OPERATOR.username}:${password}`,
            "-H",
            "Content-Type: application/soap+xml",
            "--data-binary",
            "@-",
            "-w",
            "\n%{http_code}",
            `http://127.0.0.1:${onvifPort}/onvif/device_service`,
          ],
          15_000,
          body,
        );
      const ok = (await run(OPERATOR.password)).stdout.toString("utf8");
      expect(ok).toContain(`<tds:SerialNumber>${emulator().serial}</tds:SerialNumber>`);
      expect(ok.trim().endsWith("200")).toBe(true);
      const refused = (await run("wrong-password")).stdout.toString("utf8");
      expect(refused.trim().endsWith("401")).toBe(true);
    },
  );

  it("refuses a captured HTTP Digest Authorization sent again, with the same body or another (issue 28)", async () => {
    const body = (operation: string) =>
      `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><${operation} xmlns="http://www.onvif.org/ver10/device/wsdl"/></s:Body></s:Envelope>`;
    const challenge = await post(body("GetDeviceInformation"));
    expect(challenge.status).toBe(401);
    const nonce = /nonce="([^"]+)"/.exec(String(challenge.headers["www-authenticate"]))?.[1] ?? "";
    const authorization = (nc: string) => ({
      Authorization: formatDigestAuthorization({
        algorithm: "MD5",
        username: OPERATOR.username,
        password: OPERATOR.password,
        realm: "camgate-onvif",
        nonce,
        method: "POST",
        uri: "/onvif/device_service",
        qop: "auth",
        nc,
        cnonce: "0a4f113b",
      }),
    });
    const first = await post(
      body("GetDeviceInformation"),
      "/onvif/device_service",
      authorization("00000001"),
    );
    expect(first.status).toBe(200);
    for (const operation of ["GetDeviceInformation", "SystemReboot"]) {
      const replay = await nothingReachesTheCamera(() =>
        post(body(operation), "/onvif/device_service", authorization("00000001")),
      );
      expect(replay.status).toBe(401);
    }
    // The same nonce with the count going up is an honest client's next request.
    const next = await post(body("GetDeviceInformation"), "/onvif/device_service", authorization("00000002"));
    expect(next.status).toBe(200);
  });
});
