/**
 * The camera web UI's live view through camgate: Dahua's own web player (test/peers/dahua-web-player, a client
 * camgate did not write) opens `/rtspoverwebsocket` on the camera's passthrough port and plays, as a camgate
 * user, from camgate's one camera session per stream. camgate's RTSP server is off here (`server.rtsp`
 * unset): the live view does not need it. Refusals are checked with a raw WebSocket speaking the same framing.
 */
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { readDahuaWebSocketMessage } from "../../src/protocol/rtsp-over-websocket.ts";
import { CAMERA_PASSWORD, startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { freePort, waitFor } from "../helpers/http.ts";
import {
  type LoadedPlayer,
  loadDahuaPlayer,
  type PlayerSink,
} from "../peers/dahua-web-player/load-player.ts";

let gateway: TestGateway;
let port: number;
let players: LoadedPlayer;

const den = () => gateway.cameras.get("den");
const wsUrl = () => `ws://127.0.0.1:${port}/rtspoverwebsocket`;
// The URL the camera's page builds: the camera's own address and path, with the player's parameter.
const rtspUrl = () => `rtsp://127.0.0.1:${port}/cam/realmonitor?channel=1&subtype=0&proto=Private3`;

beforeAll(async () => {
  port = await freePort();
  gateway = await startTestGateway({
    cameras: [
      { id: "den", profile: "dahua-2024", config: { passthroughPort: port } },
      { id: "yard", profile: "amcrest-ip2m-841b" },
    ],
    users: [
      { name: "alice", role: "admin", password: "alice-live-pw" },
      { name: "victor", role: "viewer", password: "victor-live-pw" },
      { name: "yuri", role: "viewer", password: "yuri-live-pw", cameras: ["yard"] },
    ],
  });
  players = await loadDahuaPlayer();
});

afterAll(async () => {
  await players?.close();
  await gateway?.close();
});

/** Resolves once the player has handed its decoder `count` RTP packets. */
function packets(sink: PlayerSink, count: number): Promise<void> {
  return new Promise((resolve) => {
    if (sink.packets.length >= count) return resolve();
    sink.onPacket = () => {
      if (sink.packets.length >= count) resolve();
    };
  });
}

/** The H.264 NAL unit type an RTP payload starts (an FU-A's inner type). */
function nalType(payload: Buffer): number {
  const rtpHeader = 12 + 4 * ((payload[0] as number) & 0x0f);
  const first = (payload[rtpHeader] as number) & 0x1f;
  return first === 28 ? (payload[rtpHeader + 1] as number) & 0x1f : first;
}

async function signInCookie(user: string, password: string): Promise<string> {
  const login = await fetch(`${gateway.url}/api/v1/session`, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-Camgate-Csrf": "1" },
    body: JSON.stringify({ username: user, password }),
  });
  return (login.headers.get("set-cookie") ?? "").split(";", 1)[0] ?? "";
}

/** A raw client in the player's framing: sends one request, returns the first answer's text. */
async function exchange(headers: Record<string, string>, request: string): Promise<string> {
  const socket = new WebSocket(wsUrl(), { headers });
  try {
    await new Promise((resolve, reject) => {
      socket.once("open", resolve);
      socket.once("error", reject);
    });
    const answer = new Promise<Buffer>((resolve) =>
      socket.once("message", (data) => resolve(data as Buffer)),
    );
    socket.send(Buffer.from(request));
    const [item] = readDahuaWebSocketMessage(await answer);
    return item?.kind === "response" ? item.text : "";
  } finally {
    socket.terminate();
  }
}

function digestFor(user: string, password: string, method: string, uri: string, challenge: string): string {
  const nonce = /nonce="([^"]+)"/.exec(challenge)?.[1] ?? "";
  const realm = /realm="([^"]+)"/.exec(challenge)?.[1] ?? "";
  const md5 = (text: string) => createHash("md5").update(text).digest("hex");
  const response = md5(`${md5(`${user}:${realm}:${password}`)}:${nonce}:${md5(`${method}:${uri}`)}`);
  return `Digest username="${user}", realm="${realm}", nonce="${nonce}", uri="${uri}", response="${response}"`;
}

describe("the camera web UI's live view (RTSP over WebSocket) behind camgate", () => {
  it("Dahua's own player plays as a camgate user: H.264 from a keyframe, in sequence, on channel 0", async () => {
    const { player, sink } = players.play({
      wsUrl: wsUrl(),
      rtspUrl: rtspUrl(),
      user: "victor",
      password: "victor-live-pw",
    });
    await packets(sink, 60);
    expect(sink.errors).toEqual([]);
    expect(sink.tracks[0]).toMatchObject({ codecName: "H264", trackID: "trackID=0" });
    // Video on channel 0; this profile's audio, set up too, on channel 2.
    const video = sink.packets.filter((p) => p.header[1] === 0);
    expect(sink.packets.every((p) => p.header[1] === 0 || p.header[1] === 2)).toBe(true);
    expect(video.length).toBeGreaterThanOrEqual(20);
    for (const { header, payload } of video) {
      expect(header.readUInt32BE(2)).toBe(payload.length);
      expect((payload[0] as number) >> 6).toBe(2);
      expect((payload[1] as number) & 0x7f).toBe(96);
    }
    // A decoder can start: the first picture is a keyframe with its parameter sets.
    const firstUnitEnd = video.findIndex((p) => ((p.payload[1] as number) & 0x80) !== 0);
    const firstUnit = video.slice(0, firstUnitEnd + 1).map((p) => nalType(p.payload));
    expect(firstUnit).toEqual(expect.arrayContaining([7, 8, 5]));
    const sequences = video.map((p) => p.payload.readUInt16BE(2));
    expect(sequences.slice(1)).toEqual(sequences.slice(0, -1).map((sequence) => (sequence + 1) & 0xffff));
    // The viewer is camgate's: its user, on camgate's sessions; the camera was asked with its own credentials.
    expect(gateway.camgate.rtspSessions.viewers()).toEqual([
      expect.objectContaining({ camera: "den", stream: "main", user: "victor", playing: true }),
    ]);
    player.disconnect();
    await waitFor(() => (gateway.camgate.rtspSessions.viewers().length === 0 ? true : undefined));
  });

  it("any number of players share camgate's one camera session for the stream", async () => {
    const one = players.play({
      wsUrl: wsUrl(),
      rtspUrl: rtspUrl(),
      user: "alice",
      password: "alice-live-pw",
    });
    const two = players.play({
      wsUrl: wsUrl(),
      rtspUrl: rtspUrl(),
      user: "victor",
      password: "victor-live-pw",
    });
    await Promise.all([packets(one.sink, 30), packets(two.sink, 30)]);
    expect(gateway.camgate.rtspSessions.viewers()).toHaveLength(2);
    expect(den()?.camera.rtsp?.openSessions).toBe(1);
    one.player.disconnect();
    two.player.disconnect();
    await waitFor(() => (gateway.camgate.rtspSessions.viewers().length === 0 ? true : undefined));
  });

  it("signed in to camgate on this origin, the page's player plays whatever password it was given", async () => {
    const cookie = await signInCookie("alice", "alice-live-pw");
    expect(cookie).toContain("camgate_session=");
    const { player, sink } = players.play({
      wsUrl: wsUrl(),
      rtspUrl: rtspUrl(),
      user: "admin",
      password: "what-the-camera-page-had",
      headers: { Cookie: cookie, Origin: `http://127.0.0.1:${port}` },
    });
    await packets(sink, 10);
    expect(gateway.camgate.rtspSessions.viewers()[0]).toMatchObject({ user: "alice" });
    player.disconnect();
    await waitFor(() => (gateway.camgate.rtspSessions.viewers().length === 0 ? true : undefined));
  });

  it("refuses another site's page riding on the cookie, a wrong password, and a user who may not see the camera", async () => {
    const options = `OPTIONS ${rtspUrl()} RTSP/1.0\r\nCSeq: 1\r\n\r\n`;
    const cookie = await signInCookie("alice", "alice-live-pw");
    // The cookie goes to every port of the host; from another site's page it is not taken.
    expect(await exchange({ Cookie: cookie, Origin: "https://evil.example" }, options)).toMatch(
      /^RTSP\/1\.0 401 /,
    );
    // Without camgate's session even OPTIONS is challenged (judged once, as the camera does for its player).
    const challenge = await exchange({}, options);
    expect(challenge).toMatch(/^RTSP\/1\.0 401 /);
    expect(challenge).toContain('Digest realm="camgate"');
    // A Digest answered with another connection's nonce: each connection has its own.
    const staleNonce = (user: string, password: string) =>
      exchange(
        {},
        `DESCRIBE ${rtspUrl()} RTSP/1.0\r\nCSeq: 2\r\nAuthorization: ${digestFor(user, password, "DESCRIBE", rtspUrl(), challenge)}\r\n\r\n`,
      );
    // On one connection: challenged, then answered; a wrong password is refused, a user who may not see
    // this camera finds no stream.
    const again = async (user: string, password: string) => {
      const socket = new WebSocket(wsUrl());
      try {
        await new Promise((resolve, reject) => {
          socket.once("open", resolve);
          socket.once("error", reject);
        });
        const next = () =>
          new Promise<string>((resolve) =>
            socket.once("message", (data) => {
              const [item] = readDahuaWebSocketMessage(data as Buffer);
              resolve(item?.kind === "response" ? item.text : "");
            }),
          );
        let answer = next();
        socket.send(Buffer.from(`OPTIONS ${rtspUrl()} RTSP/1.0\r\nCSeq: 1\r\n\r\n`));
        const first = await answer;
        answer = next();
        socket.send(
          Buffer.from(
            `DESCRIBE ${rtspUrl()} RTSP/1.0\r\nCSeq: 2\r\nAuthorization: ${digestFor(user, password, "DESCRIBE", rtspUrl(), first)}\r\n\r\n`,
          ),
        );
        return await answer;
      } finally {
        socket.terminate();
      }
    };
    expect(await staleNonce("victor", "victor-live-pw")).toMatch(/^RTSP\/1\.0 401 /);
    expect(await again("victor", "not-it")).toMatch(/^RTSP\/1\.0 401 /);
    expect(await again("yuri", "yuri-live-pw")).toMatch(/^RTSP\/1\.0 404 /);
    const described = await again("victor", "victor-live-pw");
    expect(described).toMatch(/^RTSP\/1\.0 200 /);
    expect(described).toContain("m=video");
    // Nothing of the camera's credentials reaches the client or the log.
    expect(described).not.toContain(CAMERA_PASSWORD);
    expect(gateway.logs()).not.toContain(CAMERA_PASSWORD);
  });
});
