/**
 * The live endpoint (MSE over WebSocket) with a Node client: the go2rtc-style exchange, every picture in
 * order (the emulator's SEI stamps, read from the fragments), output an independent decoder reads, auth on
 * the upgrade (no rights: no socket), signed URLs, one camera session for MSE and RTSP viewers together, and
 * a camera reboot under a watching viewer.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { waitFor } from "../helpers/http.ts";
import { decodeTimes, isKeyframeFragment, openLive, refusedStatus } from "../helpers/live.ts";
import { ffmpegCopy, locateFfmpeg, readStamps, runTool } from "../helpers/rtsp.ts";
import { itWithTool } from "../helpers/system-tools.ts";

const TOKEN = "viewer-token-live-3391";
const NARROW = "narrow-token-live-1200";
const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

let gateway: TestGateway;
let dir: string;

const emulatorOf = (id: string) => {
  const camera = gateway.cameras.get(id);
  if (!camera) throw new Error(`no emulated camera ${id}`);
  return camera;
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "camgate-live-"));
  gateway = await startTestGateway({
    cameras: [
      { id: "dogs", profile: "amcrest-ip2m-841b" },
      { id: "cats", profile: "amcrest-ip2m-841b" },
    ],
    server: { rtsp: { listen: "127.0.0.1:0" } },
    users: [
      { name: "vera", role: "viewer", token: TOKEN },
      { name: "nina", role: "viewer", token: NARROW, cameras: ["cats"] },
      { name: "pia", role: "viewer", password: "pia-password-5512" },
    ],
    relay: { lingerMs: 300 },
  });
});

afterAll(async () => {
  await gateway?.close();
  rmSync(dir, { recursive: true, force: true });
});

const liveUrl = (camera: string, stream = "main") =>
  `${gateway.url}/api/v1/cameras/${camera}/live?stream=${stream}`;

describe("live fMP4 over WebSocket", () => {
  it("answers with the codec string, the init segment, a keyframe first, then a fragment per picture", async () => {
    const client = await openLive(liveUrl("dogs"), { headers: bearer(TOKEN) });
    try {
      await waitFor(() => (client.binaries.length >= 40 ? true : undefined), 15_000, "40 fragments");
      const mse = client.messages.find((m) => m.type === "mse");
      const streams = (await (
        await fetch(`${gateway.url}/api/v1/cameras/dogs/streams`, { headers: bearer(TOKEN) })
      ).json()) as {
        streams: { name: string; codec: string }[];
      };
      const codec = streams.streams.find((s) => s.name === "main")?.codec;
      expect(codec).toMatch(/^avc1\.[0-9a-f]{6}$/);
      // The camera's PCMA cannot go into MSE: video only, and the client is told why.
      expect(mse?.value).toBe(`video/mp4; codecs="${codec}"`);
      expect(client.messages.find((m) => m.code === "audio-unsupported")?.value).toContain("PCMA");
      const [init, first, ...rest] = client.binaries;
      expect(init?.toString("latin1", 4, 8)).toBe("ftyp");
      expect(first && isKeyframeFragment(first)).toBe(true);
      const times = decodeTimes([first as Buffer, ...rest]);
      expect(times.length).toBe(rest.length + 1);
      for (let i = 1; i < times.length; i++) expect(times[i]).toBeGreaterThan(times[i - 1] as number);
      // Every picture, once, in order: the emulator's stamps ride in SEI NAL units inside the samples.
      const stamps = readStamps(Buffer.concat(client.binaries)).map((s) => s.sequence);
      expect(stamps.length).toBe(rest.length + 1);
      expect(stamps).toEqual(stamps.map((_, i) => (stamps[0] as number) + i));
    } finally {
      client.close();
    }
  });

  itWithTool(
    "ffmpeg",
    locateFfmpeg,
    "what a viewer receives is a movie ffmpeg decodes picture by picture",
    async () => {
      const client = await openLive(liveUrl("dogs"), { headers: bearer(TOKEN) });
      try {
        await waitFor(() => (client.binaries.length >= 30 ? true : undefined), 15_000, "30 fragments");
        const path = join(dir, "live.mp4");
        const bytes = Buffer.concat(client.binaries.slice(0, 30));
        writeFileSync(path, bytes);
        const probe = await runTool("ffprobe", [
          "-v",
          "error",
          "-count_frames",
          "-show_entries",
          "stream=codec_name,width,height,nb_read_frames",
          "-of",
          "csv=p=0",
          path,
        ]);
        expect(probe.stderr).toBe("");
        expect(probe.stdout.toString().trim()).toBe("h264,640,360,29");
      } finally {
        client.close();
      }
    },
  );

  it("refuses the upgrade without rights: no credentials 401, a camera the user may not see 404", async () => {
    expect(await refusedStatus(liveUrl("dogs"))).toBe(401);
    expect(await refusedStatus(liveUrl("dogs"), bearer("wrong-token-xyz"))).toBe(401);
    expect(await refusedStatus(liveUrl("dogs"), bearer(NARROW))).toBe(404);
    expect(await refusedStatus(liveUrl("nope"), bearer(TOKEN))).toBe(404);
    expect(await refusedStatus(`${gateway.url}/api/v1/cameras/dogs/live?stream=side`, bearer(TOKEN))).toBe(
      400,
    );
  });

  it("refuses a session cookie from another site's page (cross-site WebSocket hijacking; issue 28)", async () => {
    const login = await fetch(`${gateway.url}/api/v1/session`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Camgate-Csrf": "1" },
      body: JSON.stringify({ username: "pia", password: "pia-password-5512" }),
    });
    const cookie = (login.headers.get("set-cookie") ?? "").split(";", 1)[0] ?? "";
    expect(cookie).toContain("camgate_session=");
    expect(await refusedStatus(liveUrl("dogs"), { Cookie: cookie, Origin: "https://evil.example" })).toBe(
      403,
    );
    expect(await refusedStatus(liveUrl("dogs"), { Cookie: cookie, Origin: gateway.url })).toBe(101);
    // A token is no ambient credential: another origin may use one it was given.
    expect(await refusedStatus(liveUrl("dogs"), { ...bearer(TOKEN), Origin: "https://evil.example" })).toBe(
      101,
    );
  });

  it("a signed URL opens its camera's stream until it expires, and no other camera's", async () => {
    const sign = async (path: string, expiresIn = 60) => {
      const response = await fetch(`${gateway.url}/api/v1/signed-urls`, {
        method: "POST",
        headers: { ...bearer(TOKEN), "Content-Type": "application/json" },
        body: JSON.stringify({ path, expiresIn }),
      });
      expect(response.status).toBe(201);
      return ((await response.json()) as { path: string }).path;
    };
    const signed = await sign("/api/v1/cameras/dogs/live?stream=main");
    const client = await openLive(`${gateway.url}${signed}`);
    await waitFor(() => (client.binaries.length >= 2 ? true : undefined), 15_000, "init and a fragment");
    client.close();
    // The same signature on another camera's path, or with the stream changed, is refused.
    expect(await refusedStatus(`${gateway.url}${signed.replace("/dogs/", "/cats/")}`)).toBe(401);
    expect(await refusedStatus(`${gateway.url}${signed.replace("stream=main", "stream=sub")}`)).toBe(401);
    const expired = (await sign("/api/v1/cameras/dogs/live", 10)).replace(/cg_exp=\d+/, "cg_exp=1000");
    expect(await refusedStatus(`${gateway.url}${expired}`)).toBe(401);
  });

  itWithTool(
    "ffmpeg",
    locateFfmpeg,
    "MSE and RTSP viewers of one stream together hold one camera session",
    async () => {
      const camera = emulatorOf("cats");
      const clients = await Promise.all(
        Array.from({ length: 5 }, () => openLive(liveUrl("cats"), { headers: bearer(TOKEN) })),
      );
      try {
        await waitFor(
          () => (clients.every((c) => c.binaries.length >= 5) ? true : undefined),
          15_000,
          "5 MSE viewers",
        );
        const rtsp = gateway.camgate.rtspUrl?.replace("rtsp://", `rtsp://vera:${TOKEN}@`);
        const copy = await ffmpegCopy(`${rtsp}/cats`, 10);
        expect(copy.code).toBe(0);
        expect(readStamps(copy.stdout).length).toBe(10);
        expect(camera.control.rtspSessions()).toBe(1);
      } finally {
        for (const client of clients) client.close();
      }
      await waitFor(
        () => (camera.control.rtspSessions() === 0 ? true : undefined),
        10_000,
        "the session closed after the linger",
      );
    },
  );

  it("a camera reboot: the viewer is told, keeps its socket, and fragments go on on one timeline", async () => {
    const client = await openLive(liveUrl("dogs"), { headers: bearer(TOKEN) });
    try {
      await waitFor(() => (client.binaries.length >= 5 ? true : undefined), 15_000, "first fragments");
      await emulatorOf("dogs").control.reboot(500);
      await waitFor(
        () => (client.messages.some((m) => m.type === "state" && m.value !== "live") ? true : undefined),
        15_000,
        "a state message",
      );
      const before = client.binaries.length;
      await waitFor(
        () =>
          client.messages.at(-1)?.value === "live" && client.binaries.length >= before + 10
            ? true
            : undefined,
        30_000,
        "fragments after the reboot",
      );
      const times = decodeTimes(client.binaries.slice(1));
      for (let i = 1; i < times.length; i++) expect(times[i]).toBeGreaterThan(times[i - 1] as number);
      expect(client.socket.readyState).toBe(client.socket.OPEN);
    } finally {
      client.close();
    }
  });
});

describe("a slow MSE viewer", () => {
  let slowGateway: TestGateway;
  beforeAll(async () => {
    // A heavy main stream (16 Mbit/s of filler) fills the kernel's socket buffers in seconds, as a real
    // 4K camera would over a slow link.
    slowGateway = await startTestGateway({
      cameras: [
        { id: "dogs", profile: "amcrest-ip2m-841b", emulator: { rtsp: { mainBitrate: 16_000_000 } } },
      ],
      relay: { lingerMs: 300 },
    });
  });
  afterAll(async () => {
    await slowGateway?.close();
  });

  it("is skipped to the next keyframe once it backs up, while another viewer misses nothing", async () => {
    const url = `${slowGateway.url}/api/v1/cameras/dogs/live?stream=main`;
    const reader = await openLive(url);
    const slow = await openLive(url);
    try {
      await waitFor(
        () => (slow.binaries.length > 3 ? true : undefined),
        15_000,
        "the slow viewer's first fragments",
      );
      (slow.socket as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();
      const feeds = slowGateway.camgate.streams.fmp4;
      await waitFor(
        () => (feeds.skippedFragments > 25 ? true : undefined),
        60_000,
        "fragments skipped for the slow viewer",
      );
      (slow.socket as unknown as { _socket: { pause(): void; resume(): void } })._socket.resume();
      // Its pictures jump once (what was skipped: it drains what the kernel held, then the next keyframe
      // comes), and the first after the jump is a keyframe.
      const fragments = () => slow.binaries.slice(1);
      const jumpIn = () => {
        const stamps = fragments().map((f) => readStamps(f)[0]?.sequence ?? -1);
        const at = stamps.findIndex((s, i) => i > 0 && s !== (stamps[i - 1] as number) + 1);
        return at > 0 ? at : undefined;
      };
      const jump = await waitFor(jumpIn, 30_000, "the slow viewer reading again, past the skip");
      expect(isKeyframeFragment(fragments()[jump] as Buffer)).toBe(true);
      // The reader got every picture, in order.
      const read = reader.binaries.slice(1).map((f) => readStamps(f)[0]?.sequence ?? -1);
      expect(read).toEqual(read.map((_, i) => (read[0] as number) + i));
    } finally {
      reader.close();
      slow.close();
    }
  }, 120_000);
});
