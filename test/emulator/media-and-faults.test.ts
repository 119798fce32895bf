/** Frames, MJPEG streams and the fault controls that later reliability tests rely on. */
import sharp from "sharp";
import { afterEach, describe, expect, it } from "vitest";
import { FrameRenderer, readComment } from "../../src/emulator/frame-renderer.ts";
import { type RunningEmulator, startEmulator } from "../../src/emulator/index.ts";
import { digestGet } from "../helpers/digest-client.ts";
import { httpGet, waitFor } from "../helpers/http.ts";
import { type OpenStream, openStream } from "../helpers/stream.ts";

const PASSWORD = "secret";
const MJPEG = "/cgi-bin/mjpg/video.cgi?channel=1&subtype=1";

/** Splits an MJPEG body into its JPEGs by the part headers' Content-Length. */
function jpegParts(bytes: Buffer): Buffer[] {
  const parts: Buffer[] = [];
  let pos = 0;
  for (;;) {
    const headerEnd = bytes.indexOf("\r\n\r\n", pos);
    if (headerEnd < 0) break;
    const header = bytes.subarray(pos, headerEnd).toString("latin1");
    const length = Number(/Content-Length: (\d+)/i.exec(header)?.[1]);
    if (!Number.isFinite(length) || headerEnd + 4 + length > bytes.length) break;
    parts.push(bytes.subarray(headerEnd + 4, headerEnd + 4 + length));
    pos = headerEnd + 4 + length + 2;
  }
  return parts;
}

describe("frames", () => {
  it("renders JPEGs of the requested size whose COM segment carries sequence and capture time", async () => {
    const renderer = new FrameRenderer(320, 240);
    const scene = {
      cameraName: "TEST",
      clockText: "2026-01-01 00:00:00",
      pan: 0,
      tilt: 0,
      zoom: 1,
      black: false,
    };
    const first = await renderer.render(scene, 1_000);
    const second = await renderer.render({ ...scene, pan: 90 }, 1_040);
    expect(readComment(first.jpeg)).toBe("camgate seq=1 t=1000");
    expect(readComment(second.jpeg)).toBe("camgate seq=2 t=1040");
    const meta = await sharp(first.jpeg).metadata();
    expect([meta.width, meta.height]).toEqual([320, 240]);
    const a = await sharp(first.jpeg).raw().toBuffer();
    const b = await sharp(second.jpeg).raw().toBuffer();
    expect(a.equals(b)).toBe(false);
  });

  it("renders black frames for tamper", async () => {
    const renderer = new FrameRenderer(64, 48);
    const frame = await renderer.render({
      cameraName: "X",
      clockText: "",
      pan: 0,
      tilt: 0,
      zoom: 1,
      black: true,
    });
    const stats = await sharp(frame.jpeg).stats();
    expect(Math.max(...stats.channels.map((c) => c.mean))).toBeLessThan(16);
  });
});

describe("MJPEG streams and faults", () => {
  const running: RunningEmulator[] = [];
  const streams: OpenStream[] = [];
  afterEach(async () => {
    for (const stream of streams.splice(0)) stream.close();
    await Promise.all(running.splice(0).map((e) => e.close()));
  });
  async function emulator(options: Partial<Parameters<typeof startEmulator>[0]> = {}) {
    const started = await startEmulator({ profile: "amcrest-ip2m-841b", password: PASSWORD, ...options });
    running.push(started);
    const camera = started.cameras[0];
    if (!camera) throw new Error("no camera");
    return camera;
  }
  async function stream(url: string) {
    const opened = await openStream(url, MJPEG, PASSWORD);
    streams.push(opened);
    return opened;
  }

  it("streams multipart JPEGs with boundary=myboundary at the configured rate and size", async () => {
    const camera = await emulator({ config: { "Encode[0].ExtraFormat[0].Video.FPS": 25 } });
    const mjpeg = await stream(camera.url);
    expect(mjpeg.response.headers["content-type"]).toBe("multipart/x-mixed-replace; boundary=myboundary");
    expect(mjpeg.response.headers["transfer-encoding"]).toBeUndefined();
    const bytes = await mjpeg.waitUntil((b) => jpegParts(b).length >= 10, 10_000, "ten frames");
    expect(bytes.subarray(0, 80).toString("latin1")).toMatch(
      /^--myboundary\r\nContent-Type: image\/jpeg\r\nContent-Length: \d+\r\n\r\n/,
    );
    const parts = jpegParts(bytes);
    const comments = parts.map((p) => /seq=(\d+) t=(\d+)/.exec(readComment(p) ?? ""));
    const sequences = comments.map((c) => Number(c?.[1]));
    expect(sequences).toEqual([...sequences].sort((x, y) => x - y));
    const times = comments.map((c) => Number(c?.[2]));
    // 25 fps: frames are 40 ms apart on average (generous bounds; this is not a timing benchmark).
    const average = ((times.at(-1) ?? 0) - (times[0] ?? 0)) / (times.length - 1);
    expect(average).toBeGreaterThan(20);
    expect(average).toBeLessThan(120);
    expect((await sharp(parts[0]).metadata()).width).toBe(640);
  });

  it("drops a stream after N frames", async () => {
    const camera = await emulator();
    camera.control.dropStreamsAfter(3);
    const mjpeg = await stream(camera.url);
    await new Promise<void>((resolve) => mjpeg.response.on("close", () => resolve()));
    expect(jpegParts(mjpeg.bytes())).toHaveLength(3);
  });

  it("stalls streams without closing them, and resumes", async () => {
    const camera = await emulator();
    const mjpeg = await stream(camera.url);
    await mjpeg.waitUntil((b) => jpegParts(b).length >= 1, 10_000, "a frame");
    camera.control.stallStreams(true);
    const source = camera.camera.frameSource(1, 1);
    const produced = source.produced;
    await waitFor(
      () => (source.produced >= produced + 2 ? true : undefined),
      5000,
      "frames rendered during the stall",
    );
    const length = mjpeg.bytes().length;
    await waitFor(
      () => (source.produced >= produced + 4 ? true : undefined),
      5000,
      "more frames rendered during the stall",
    );
    expect(mjpeg.bytes().length).toBe(length);
    camera.control.stallStreams(false);
    await mjpeg.waitUntil((b) => b.length > length, 5000, "frames after the stall");
  });

  it("tamper (VideoBlind) darkens the picture until it stops", async () => {
    const camera = await emulator();
    const mean = async () => {
      const { response } = await digestGet(camera.url, "/cgi-bin/snapshot.cgi", { password: PASSWORD });
      const stats = await sharp(response.body).stats();
      return stats.channels[1]?.mean ?? 0;
    };
    expect(await mean()).toBeGreaterThan(40);
    camera.control.trigger("VideoBlind", "Start");
    expect(await mean()).toBeLessThan(16);
    camera.control.trigger("VideoBlind", "Stop");
    expect(await mean()).toBeGreaterThan(40);
  });

  it("reboots: connections drop, the port refuses, and it comes back with a new uptime", async () => {
    const camera = await emulator({ rebootDurationMs: 300 });
    const mjpeg = await stream(camera.url);
    await mjpeg.waitUntil((b) => jpegParts(b).length >= 1, 10_000, "a frame");
    const bootedAt = camera.camera.bootedAt;
    const closed = new Promise<void>((resolve) => mjpeg.response.on("close", () => resolve()));
    const { response } = await digestGet(camera.url, "/cgi-bin/magicBox.cgi?action=reboot", {
      password: PASSWORD,
    });
    expect(response.text).toBe("OK\r\n");
    await closed;
    await expect(httpGet(`${camera.url}/cgi-bin/magicBox.cgi?action=getDeviceType`)).rejects.toMatchObject({
      code: "ECONNREFUSED",
    });
    await camera.control.camera.whenUp();
    expect(camera.camera.bootedAt).toBeGreaterThan(bootedAt);
    expect(camera.control.logEntries("Reboot")).toHaveLength(1);
    const uptime = await digestGet(camera.url, "/cgi-bin/magicBox.cgi?action=getUpTime", {
      password: PASSWORD,
    });
    expect(uptime.response.text).toMatch(/^up=\d+\r\ntotal=\d+\r\n$/);
  });

  it("slow responses: every answer waits the configured delay", async () => {
    const camera = await emulator();
    camera.control.setResponseDelay(150);
    const started = Date.now();
    await httpGet(`${camera.url}/cgi-bin/magicBox.cgi?action=getDeviceType`);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });

  it("stops and starts listening on the same port", async () => {
    const camera = await emulator();
    const port = camera.port;
    await camera.control.stopListening();
    await expect(httpGet(`http://127.0.0.1:${port}/`)).rejects.toMatchObject({ code: "ECONNREFUSED" });
    await camera.control.startListening();
    expect(camera.port).toBe(port);
    expect((await httpGet(`http://127.0.0.1:${port}/cgi-bin/magicBox.cgi?action=getDeviceType`)).status).toBe(
      401,
    );
  });

  it("runs several cameras with --count, each with its own serial", async () => {
    const group = await startEmulator({ profile: "dahua-2024", password: PASSWORD, count: 3 });
    running.push(group);
    expect(new Set(group.cameras.map((c) => c.serial)).size).toBe(3);
    expect(new Set(group.ports).size).toBe(3);
    for (const camera of group.cameras) {
      const { response } = await digestGet(camera.url, "/cgi-bin/magicBox.cgi?action=getSerialNo", {
        password: PASSWORD,
      });
      expect(response.text).toBe(`sn=${camera.serial}\r\n`);
    }
  });
});
