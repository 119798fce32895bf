/**
 * Hold to talk: PCM over camgate's WebSocket arrives at the emulated camera's speaker as G.711 of the right
 * length and shape (through audio.cgi postAudio, whose unauthenticated POSTs the emulator drops as the
 * firmware does); one talker per camera; operators only; and a doorbell's button keeps working, because
 * by default camgate never opens the RTSP backchannel that silences it (talk-backchannel.test.ts has the
 * opt-in).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import type { CamgateEvent } from "../../src/events/model.ts";
import { decodeG711 } from "../../src/media/g711.ts";
import { computeDigest, pickChallenge } from "../../src/protocol/digest.ts";
import { TALK_LIMITS } from "../../src/relay/talk.ts";
import { CAMERA_PASSWORD, startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { waitFor } from "../helpers/http.ts";
import { RawRtspClient } from "../helpers/rtsp.ts";

const OLGA = { username: "olga", password: "olga-password-3310" };
const OSCAR = { username: "oscar", password: "oscar-password-9921" };
const VERA = { username: "vera", password: "vera-password-1187" };

let gateway: TestGateway;

const door = () => {
  const camera = gateway.cameras.get("door");
  if (!camera) throw new Error("no emulated doorbell");
  return camera;
};

const basic = (who: { username: string; password: string }) =>
  `Basic ${Buffer.from(`${who.username}:${who.password}`).toString("base64")}`;

/** A 440 Hz tone, 16-bit little-endian at 8 kHz. */
function tone(samples: number, offset = 0): Buffer {
  const pcm = Buffer.alloc(samples * 2);
  for (let i = 0; i < samples; i++)
    pcm.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * 440 * (i + offset)) / 8000)), i * 2);
  return pcm;
}

interface Talker {
  socket: WebSocket;
  messages: { type: string; value: string; reason?: string }[];
  closed: Promise<number>;
}

/** Opens a talk; resolves once camgate says the camera accepted it, or rejects with the HTTP status. */
function talk(
  who: { username: string; password: string } | undefined,
  headers: Record<string, string> = {},
): Promise<Talker> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`${gateway.url.replace(/^http/, "ws")}/api/v1/cameras/door/talk`, {
      headers: { ...(who ? { Authorization: basic(who) } : {}), ...headers },
    });
    const messages: Talker["messages"] = [];
    const closed = new Promise<number>((done) => socket.once("close", (code) => done(code)));
    socket.on("unexpected-response", (_request, response) => {
      reject(Object.assign(new Error(`HTTP ${response.statusCode}`), { status: response.statusCode }));
      response.resume();
    });
    socket.on("error", () => undefined);
    socket.on("message", (data) => {
      const message = JSON.parse(data.toString()) as Talker["messages"][number];
      messages.push(message);
      if (message.type === "talk" && message.value === "open") resolve({ socket, messages, closed });
      if (message.type === "error") reject(new Error(message.value));
    });
  });
}

beforeAll(async () => {
  gateway = await startTestGateway({
    cameras: [{ id: "door", profile: "amcrest-ad410" }],
    users: [
      { name: OLGA.username, role: "operator", password: OLGA.password },
      { name: OSCAR.username, role: "operator", password: OSCAR.password },
      { name: VERA.username, role: "viewer", password: VERA.password },
    ],
    events: { enabled: true, heartbeatSeconds: 1, snapshotCodes: [] },
  });
});

afterAll(async () => {
  await gateway?.close();
});

describe("talking through a camera", () => {
  it("delivers the PCM it is sent as G.711 A-law of the same length and shape", async () => {
    const before = door().control.talks().length;
    const talker = await talk(OLGA);
    // One second in 20 ms messages, as a browser's audio worklet sends it.
    for (let i = 0; i < 50; i++) talker.socket.send(tone(160, i * 160));
    talker.socket.send(JSON.stringify({ type: "stop" }));
    expect(await talker.closed).toBe(1000);
    expect(talker.messages.at(-1)).toEqual({ type: "talk", value: "ended", reason: "stopped" });
    const recording = await waitFor(() => {
      const talks = door().control.talks();
      const last = talks.length > before ? talks.at(-1) : undefined;
      return last?.endedAt !== undefined ? last : undefined;
    });
    expect(recording.codec).toBe("G.711A");
    // 20 ms of silence first (camgate's opening of the POST), then every sample said.
    expect(recording.bytes.length).toBe(TALK_LIMITS.leadingSilenceSamples + 8000);
    expect(
      [...decodeG711(recording.bytes.subarray(0, TALK_LIMITS.leadingSilenceSamples), "alaw")].every(
        (v) => Math.abs(v) <= 8,
      ),
    ).toBe(true);
    const heard = decodeG711(recording.bytes.subarray(TALK_LIMITS.leadingSilenceSamples), "alaw");
    const sent = tone(8000);
    let worst = 0;
    for (let i = 0; i < heard.length; i++)
      worst = Math.max(worst, Math.abs((heard[i] ?? 0) - sent.readInt16LE(i * 2)));
    // A-law's step at 8000 is 256: every sample within one step of what was said.
    expect(worst).toBeLessThanOrEqual(256);
  });

  it("lets one talker hold the camera: a second is refused until the first stops", async () => {
    const first = await talk(OLGA);
    await expect(talk(OSCAR)).rejects.toMatchObject({ status: 409 });
    first.socket.send(tone(800));
    first.socket.close();
    await first.closed;
    await waitFor(() => (gateway.camgate.events && door().camera.speaker.active === 0 ? true : undefined));
    const second = await waitFor(async () => {
      try {
        return await talk(OSCAR);
      } catch {
        return undefined;
      }
    });
    second.socket.close();
    await second.closed;
  });

  it("refuses a viewer, and a session cookie from another site, before the camera hears of it", async () => {
    const requests = door().control.counters().requests;
    await expect(talk(VERA)).rejects.toMatchObject({ status: 403 });
    await expect(talk(undefined)).rejects.toMatchObject({ status: 401 });
    const login = await fetch(`${gateway.url}/api/v1/session`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Camgate-Csrf": "1" },
      body: JSON.stringify(OLGA),
    });
    const cookie = (login.headers.get("set-cookie") ?? "").split(";", 1)[0] ?? "";
    expect(cookie).toContain("camgate_session=");
    await expect(talk(undefined, { Cookie: cookie, Origin: "https://evil.example" })).rejects.toMatchObject({
      status: 403,
    });
    expect(door().control.counters().requests).toBe(requests);
    // The same cookie from camgate's own page talks.
    const own = await talk(undefined, { Cookie: cookie, Origin: gateway.url });
    own.socket.close();
    await own.closed;
  });

  it("keeps the doorbell's button working while someone talks; only a backchannel silences it", async () => {
    const presses: CamgateEvent[] = [];
    const unsubscribe = gateway.camgate.events.bus.subscribe((event) => {
      if (event.code === "_DoTalkAction_") presses.push(event);
    });
    try {
      await waitFor(
        () => (door().control.eventSubscribers() > 0 ? true : undefined),
        10_000,
        "the event stream",
      );
      const talker = await talk(OLGA);
      talker.socket.send(tone(1600));
      expect(door().control.pressDoorbell()).toBe(true);
      await waitFor(() => (presses.length > 0 ? true : undefined), 10_000, "the button press");
      talker.socket.close();
      await talker.closed;
      // camgate talked over CGI: no backchannel was ever asked for.
      expect(door().control.rtspCounters().backchannelRequests).toBe(0);

      // The quirk itself, in the emulator: a client holding the ONVIF backchannel silences the button.
      const client = new RawRtspClient(door().rtspPort);
      try {
        const url = `rtsp://127.0.0.1:${door().rtspPort}/cam/realmonitor?channel=1&subtype=0`;
        const backchannel: [string, string] = ["Require", "www.onvif.org/ver20/backchannel"];
        const offered = pickChallenge(
          (await client.request("DESCRIBE", url, [backchannel])).headers.get("www-authenticate") ?? "",
        );
        const challenge = offered?.scheme === "digest" ? offered : undefined;
        const { response } = computeDigest({
          algorithm: "MD5",
          username: "admin",
          password: CAMERA_PASSWORD,
          realm: challenge?.realm ?? "",
          nonce: challenge?.nonce ?? "",
          method: "DESCRIBE",
          uri: url,
        });
        const described = await client.request("DESCRIBE", url, [
          backchannel,
          [
            "Authorization",
            `Digest username="admin", realm="${challenge?.realm}", nonce="${challenge?.nonce}", uri="${url}", response="${response}"`,
          ],
        ]);
        expect(described.status).toBe(200);
        expect(door().control.pressDoorbell()).toBe(false);
      } finally {
        client.close();
      }
      await waitFor(
        () => (door().control.pressDoorbell() ? true : undefined),
        5000,
        "the button to work again",
      );
    } finally {
      unsubscribe();
    }
  });
});
