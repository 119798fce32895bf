/**
 * What camgate's RTSP server refuses, and that a refusal costs the camera nothing: no credentials, wrong
 * ones, a camera the user may not see (the same answer as no such camera), signed URLs expired, tampered
 * or used for another stream, the login limit; and clients that send what RTSP is not never take it down.
 */
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UrlSigner } from "../../src/protocol/signed-url.ts";
import { loadOrCreateSigningKey } from "../../src/storage/signing-key.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { waitFor } from "../helpers/http.ts";
import { ffmpegDecode, locateFfmpeg, RawRtspClient } from "../helpers/rtsp.ts";
import { itWithTool } from "../helpers/system-tools.ts";

const ALICE = { username: "alice", password: "alice-password-4821" };
const BOB = { username: "bob", password: "bob-password-7733" };

let gateway: TestGateway;
let port: number;

const rtspUrl = (path: string) => `rtsp://127.0.0.1:${port}${path}`;
const cameraSessions = () =>
  [...gateway.cameras.values()].reduce((sum, camera) => sum + camera.control.rtspCounters().sessions, 0);

async function describeAs(who: { username: string; password: string } | undefined, path: string) {
  const client = new RawRtspClient(port, who);
  try {
    return await client.request("DESCRIBE", rtspUrl(path), [["Accept", "application/sdp"]]);
  } finally {
    client.close();
  }
}

async function mintRtsp(path: string, who = ALICE) {
  const response = await fetch(`${gateway.url}/api/v1/signed-urls`, {
    method: "POST",
    headers: {
      Authorization: `Basic ${Buffer.from(`${who.username}:${who.password}`).toString("base64")}`,
      "Content-Type": "application/json",
    },
    body: JSON.stringify({ method: "RTSP", path, expiresIn: 60 }),
  });
  return { status: response.status, body: (await response.json()) as { url?: string; code?: string } };
}

beforeAll(async () => {
  gateway = await startTestGateway({
    cameras: [
      { id: "dogs", profile: "amcrest-ip2m-841b" },
      { id: "cats", profile: "dahua-2024" },
    ],
    server: { rtsp: { listen: "127.0.0.1:0" }, authRateLimit: { failures: 1000, windowSeconds: 60 } },
    users: [
      { name: "alice", role: "viewer", password: ALICE.password, cameras: ["*"] },
      { name: "bob", role: "viewer", password: BOB.password, cameras: ["cats"] },
    ],
  });
  port = Number(new URL(gateway.camgate.rtspUrl ?? "").port);
});

afterAll(async () => {
  await gateway?.close();
});

describe("refusals", () => {
  it("without credentials: 401 with a Digest and a Basic challenge, and the camera is never asked", async () => {
    const before = cameraSessions();
    const answer = await describeAs(undefined, "/dogs");
    expect(answer.status).toBe(401);
    const challenges = answer.headers.all("www-authenticate");
    expect(
      challenges.some((c) => /^Digest realm="camgate", nonce="[0-9a-f]{32}", algorithm=MD5$/.test(c)),
    ).toBe(true);
    expect(challenges).toContain('Basic realm="camgate"');
    expect(cameraSessions()).toBe(before);
    for (const camera of gateway.cameras.values()) expect(camera.control.rtspCounters().connections).toBe(0);
  });

  it("a wrong password is 401; a camera the user may not see is 404, like one that does not exist", async () => {
    const before = cameraSessions();
    expect((await describeAs({ ...BOB, password: "wrong" }, "/cats")).status).toBe(401);
    expect((await describeAs(BOB, "/dogs")).status).toBe(404);
    expect((await describeAs(BOB, "/dogs/sub")).status).toBe(404);
    expect((await describeAs(BOB, "/nope")).status).toBe(404);
    expect((await describeAs(ALICE, "/dogs/cam/realmonitor?channel=9&subtype=0")).status).toBe(404);
    expect((await describeAs(ALICE, "/dogs/elsewhere")).status).toBe(404);
    expect(cameraSessions()).toBe(before);
  });

  itWithTool(
    "ffmpeg",
    locateFfmpeg,
    "a signed RTSP URL plays without credentials, for its stream only",
    async () => {
      const minted = await mintRtsp("/dogs/sub");
      expect(minted.status).toBe(201);
      const url = minted.body.url ?? "";
      expect(url).toMatch(
        new RegExp(`^rtsp://127\\.0\\.0\\.1:${port}/dogs/sub\\?cg_exp=\\d+&cg_user=alice&cg_sig=`),
      );
      const decoded = await ffmpegDecode(url, 5);
      expect(decoded.stderr).toBe("");
      expect(decoded.stdout.length).toBe(5 * 16 * 9);
      // The same signature on another stream, a changed one, or a user who may not see the camera.
      const query = url.slice(url.indexOf("?"));
      expect((await describeAs(undefined, `/dogs${query}`)).status).toBe(401);
      // A changed first character of the signature (never the one it had: one in 64 signatures starts with A).
      const changed = query.replace(
        /cg_sig=(.)/,
        (_all, first: string) => `cg_sig=${first === "A" ? "B" : "A"}`,
      );
      expect((await describeAs(undefined, `/dogs/sub${changed}`)).status).toBe(401);
      expect(
        (await describeAs(undefined, `/dogs/sub${query.replace("cg_user=alice", "cg_user=bob")}`)).status,
      ).toBe(401);
      expect((await mintRtsp("/dogs", BOB)).status).toBe(404);
      expect((await mintRtsp("/dogs/../cats")).status).toBe(400);
    },
  );

  it("an expired signed RTSP URL is refused", async () => {
    const signer = new UrlSigner(loadOrCreateSigningKey(gateway.storageDir));
    const expired = signer.sign("RTSP", "/cats", "alice", Math.floor(Date.now() / 1000) - 5);
    const fresh = signer.sign("RTSP", "/cats", "alice", Math.floor(Date.now() / 1000) + 60);
    const http = signer.sign("GET", "/cats", "alice", Math.floor(Date.now() / 1000) + 60);
    expect((await describeAs(undefined, expired)).status).toBe(401);
    // A signature for GET is not one for RTSP.
    expect((await describeAs(undefined, http)).status).toBe(401);
    expect((await describeAs(undefined, fresh)).status).toBe(200);
  });

  it("an expired signed URL with the user's own credentials plays (a kept ONVIF stream URI); wrong ones do not", async () => {
    const signer = new UrlSigner(loadOrCreateSigningKey(gateway.storageDir));
    const expired = signer.sign("RTSP", "/cats", "alice", Math.floor(Date.now() / 1000) - 5);
    expect((await describeAs(ALICE, expired)).status).toBe(200);
    expect((await describeAs({ ...ALICE, password: "wrong" }, expired)).status).toBe(401);
    // Credentials are judged as credentials: bob may not see dogs, whatever the URL was signed for.
    const dogs = signer.sign("RTSP", "/dogs", "alice", Math.floor(Date.now() / 1000) + 60);
    expect((await describeAs(BOB, dogs)).status).toBe(404);
  });

  it("SETUP over UDP is 461 (clients fall back to TCP); PLAY without a session is 454", async () => {
    const client = new RawRtspClient(port, ALICE);
    try {
      const udp = await client.request("SETUP", `${rtspUrl("/cats")}/trackID=0`, [
        ["Transport", "RTP/AVP;unicast;client_port=5000-5001"],
      ]);
      expect(udp.status).toBe(461);
      const play = await client.request("PLAY", rtspUrl("/cats"), [["Session", "NOSUCHSESSION"]]);
      expect(play.status).toBe(454);
    } finally {
      client.close();
    }
  });

  it("after the login limit, the address is refused with 403, and no camera locks", async () => {
    const strict = await startTestGateway({
      server: { rtsp: { listen: "127.0.0.1:0" }, authRateLimit: { failures: 3, windowSeconds: 60 } },
      users: [{ name: "alice", role: "viewer", password: ALICE.password, cameras: ["*"] }],
    });
    const strictPort = Number(new URL(strict.camgate.rtspUrl ?? "").port);
    const client = new RawRtspClient(strictPort, { username: "mallory", password: "guess" });
    const statuses: number[] = [];
    try {
      for (let i = 0; i < 5; i++)
        statuses.push((await client.request("DESCRIBE", `rtsp://127.0.0.1:${strictPort}/dogs`)).status);
      // Right credentials from the same address are refused too while the window lasts.
      const alice = new RawRtspClient(strictPort, ALICE);
      statuses.push((await alice.request("DESCRIBE", `rtsp://127.0.0.1:${strictPort}/dogs`)).status);
      alice.close();
      expect(statuses).toEqual([401, 401, 401, 403, 403, 403]);
      for (const camera of strict.cameras.values()) {
        expect(camera.control.lockedAddresses()).toEqual([]);
        expect(camera.control.rtspCounters().connections).toBe(0);
      }
    } finally {
      client.close();
      await strict.close();
    }
  });
});

describe("clients that send what RTSP is not", () => {
  const sendRaw = (bytes: Buffer | string) =>
    new Promise<{ closed: boolean; answer: string }>((resolve) => {
      const socket = connect({ host: "127.0.0.1", port });
      let answer = "";
      socket.on("data", (chunk) => {
        answer += chunk.toString("latin1");
      });
      socket.on("error", () => undefined);
      socket.on("close", () => resolve({ closed: true, answer }));
      socket.on("connect", () => socket.write(bytes));
    });

  it.each([
    ["a header line without end", `DESCRIBE rtsp://x/dogs RTSP/1.0\r\nCSeq: 1\r\nX: ${"a".repeat(20_000)}`],
    [
      "a body larger than allowed",
      "SET_PARAMETER rtsp://x/dogs RTSP/1.0\r\nCSeq: 1\r\nContent-Length: 999999999\r\n\r\n",
    ],
    ["HTTP", "GET / HTTP/1.1\r\nHost: x\r\n\r\n"],
    ["binary noise", Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 131 + 7) & 0xff))],
  ])("%s: the connection is closed, the server goes on", async (_name, bytes) => {
    const result = await sendRaw(bytes);
    expect(result.closed).toBe(true);
    expect((await describeAs(ALICE, "/cats")).status).toBe(200);
  });

  it("a client that pipelines requests without reading is cut off after a bounded number", async () => {
    const lines = Array.from(
      { length: 64 },
      (_, i) => `OPTIONS rtsp://127.0.0.1/cats RTSP/1.0\r\nCSeq: ${i}\r\nSession: X\r\n\r\n`,
    );
    const result = await sendRaw(lines.join(""));
    expect(result.closed).toBe(true);
    expect(result.answer.split("RTSP/1.0 ").length - 1).toBeLessThanOrEqual(32);
  });

  it("more RTSP sessions on one connection than a client needs are refused with 453", async () => {
    const client = new RawRtspClient(port, ALICE);
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 10; i++)
        statuses.push(
          (
            await client.request("SETUP", `${rtspUrl("/cats")}/trackID=0`, [
              ["Transport", "RTP/AVP/TCP;unicast;interleaved=0-1"],
            ])
          ).status,
        );
      expect(statuses.filter((s) => s === 200).length).toBe(8);
      expect(statuses.slice(8)).toEqual([453, 453]);
    } finally {
      client.close();
    }
    await waitFor(
      () => (gateway.camgate.rtspServer?.viewers().length === 0 ? true : undefined),
      5000,
      "no sessions",
    );
  });
});
