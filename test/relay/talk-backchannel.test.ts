/**
 * Talking over the ONVIF RTSP backchannel, for the owner who asked for it (`cameras[].talk: backchannel`):
 * the PCM reaches the emulated doorbell's speaker as G.711 RTP over camgate's RTSP session, the backchannel
 * is open only while someone talks (the doorbell's button is silent then, as on AD410 firmware, and works
 * again as soon as the talk ends), and it takes one of the camera's RTSP sessions, given back after.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { decodeG711 } from "../../src/media/g711.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { waitFor } from "../helpers/http.ts";

const OLGA = { username: "olga", password: "olga-password-3310" };

let gateway: TestGateway;

const door = () => {
  const camera = gateway.cameras.get("door");
  if (!camera) throw new Error("no emulated doorbell");
  return camera;
};

function tone(samples: number, offset = 0): Buffer {
  const pcm = Buffer.alloc(samples * 2);
  for (let i = 0; i < samples; i++)
    pcm.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * 440 * (i + offset)) / 8000)), i * 2);
  return pcm;
}

function talk(): Promise<{ socket: WebSocket; closed: Promise<number> }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`${gateway.url.replace(/^http/, "ws")}/api/v1/cameras/door/talk`, {
      headers: {
        Authorization: `Basic ${Buffer.from(`${OLGA.username}:${OLGA.password}`).toString("base64")}`,
      },
    });
    const closed = new Promise<number>((done) => socket.once("close", (code) => done(code)));
    socket.on("unexpected-response", (_request, response) => {
      reject(new Error(`HTTP ${response.statusCode}`));
      response.resume();
    });
    socket.on("error", () => undefined);
    socket.on("message", (data) => {
      const message = JSON.parse(data.toString()) as { type: string; value: string };
      if (message.type === "talk" && message.value === "open") resolve({ socket, closed });
      if (message.type === "error") reject(new Error(message.value));
    });
  });
}

beforeAll(async () => {
  gateway = await startTestGateway({
    cameras: [{ id: "door", profile: "amcrest-ad410", config: { talk: "backchannel" } }],
    users: [{ name: OLGA.username, role: "operator", password: OLGA.password }],
  });
});

afterAll(async () => {
  await gateway?.close();
});

describe("talking over the RTSP backchannel, when asked for", () => {
  it("delivers the PCM as G.711 RTP, silences the doorbell only while talking, and gives the session back", async () => {
    const before = door().control.talks().length;
    const talker = await talk();
    expect(door().camera.rtsp?.backchannelOpen).toBe(true);
    expect(door().control.pressDoorbell()).toBe(false);
    for (let i = 0; i < 50; i++) talker.socket.send(tone(160, i * 160));
    await waitFor(() => {
      const last = door().control.talks().at(-1);
      return door().control.talks().length > before && (last?.bytes.length ?? 0) >= 8000 ? true : undefined;
    }, 10_000);
    talker.socket.send(JSON.stringify({ type: "stop" }));
    expect(await talker.closed).toBe(1000);
    const recording = await waitFor(() => {
      const last = door().control.talks().at(-1);
      return last?.endedAt !== undefined ? last : undefined;
    }, 10_000);
    expect(recording.codec).toBe("G.711A");
    // The 20 ms of silence that opens every talk, then every sample said, in whole 20 ms packets.
    expect(recording.bytes.length).toBe(160 + 8000);
    const heard = decodeG711(recording.bytes.subarray(160), "alaw");
    const sent = tone(8000);
    let worst = 0;
    for (let i = 0; i < heard.length; i++)
      worst = Math.max(worst, Math.abs((heard[i] ?? 0) - sent.readInt16LE(i * 2)));
    expect(worst).toBeLessThanOrEqual(256);
    // Closed with the talk: the button works again, and the RTSP session is given back.
    await waitFor(() => (door().camera.rtsp?.backchannelOpen === false ? true : undefined), 5000);
    expect(door().control.pressDoorbell()).toBe(true);
    await waitFor(() => (door().control.rtspSessions() === 0 ? true : undefined), 5000);
    expect(gateway.camgate.cameras.get("door")?.rtspBudget.inUse).toBe(0);
    // No CGI audio was used.
    expect(door().control.counters().requestsByPath["/cgi-bin/audio.cgi"]).toBeUndefined();
  });
});
