/**
 * Event clips, end to end on the emulator's counter-stamped H.264: a motion (start, stop) gives an MP4 whose
 * first picture was captured before the motion started (its clock is burned into the pixels), that ffprobe
 * reads as H.264 with the duration the index states, that is served with byte ranges, announced by a
 * ClipReady event, and that Chromium plays.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readStrip } from "../../src/emulator/counter-encoder.ts";
import { launchChromium, locateChromium } from "../helpers/browser.ts";
import { locateFfprobe } from "../helpers/ffprobe.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { waitFor } from "../helpers/http.ts";
import { runTool } from "../helpers/rtsp.ts";
import { SseClient } from "../helpers/sse.ts";

interface IncidentBody {
  id: string;
  ongoing: boolean;
  clip: string | null;
}

describe("event clips", () => {
  let gw: TestGateway;
  let sse: SseClient;
  const dir = mkdtempSync(join(tmpdir(), "camgate-clips-"));

  beforeAll(async () => {
    gw = await startTestGateway({
      cameras: [{ id: "door", profile: "amcrest-ip2m-841b", emulator: { rtsp: { mainVideo: "counter" } } }],
      events: { enabled: true, heartbeatSeconds: 1, snapshotCodes: [] },
      recording: { clips: { enabled: true, preRollSeconds: 2, postRollSeconds: 1 } },
    });
    sse = new SseClient(`${gw.url}/api/v1/events/stream`);
    await sse.open();
  });

  afterAll(async () => {
    sse?.close();
    await gw?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("records a motion from before its start to after its end, as an MP4 ffprobe and Chromium read", async () => {
    const main = () =>
      gw.camgate.streams.list().find((hub) => hub.camera === "door" && hub.stats().stream === "main");
    // The clip recorder holds the main stream open; wait until it has more than the pre-roll.
    await waitFor(
      () => ((main()?.stats().unitsIn ?? 0) > 90 ? true : undefined),
      20_000,
      "3 s of the stream",
    );
    await waitFor(
      () => (gw.camgate.events.sources.streams.get("door")?.current === "live" ? true : undefined),
      10_000,
      "the event stream",
    );
    const control = gw.cameras.get("door")?.control;
    const triggeredAt = Date.now();
    control?.trigger("VideoMotion", "Start");
    const start = await sse.waitFor(
      (m) => m.some((x) => x.data.code === "VideoMotion" && x.data.action === "start"),
      10_000,
      "the start",
    );
    const incident = start.find((x) => x.data.code === "VideoMotion")?.data.incident ?? "";
    const unitsAtStart = main()?.stats().unitsIn ?? 0;
    await waitFor(
      () => ((main()?.stats().unitsIn ?? 0) > unitsAtStart + 25 ? true : undefined),
      10_000,
      "1 s more",
    );
    control?.trigger("VideoMotion", "Stop");
    const ready = await sse.waitFor((m) => m.some((x) => x.data.code === "ClipReady"), 15_000, "ClipReady");
    const announced = ready.find((x) => x.data.code === "ClipReady")?.data.data as {
      incident: string;
      url: string;
      durationMs: number;
    };
    expect(announced.incident).toBe(incident);
    expect(announced.url).toBe(`/api/v1/incidents/${incident}/clip.mp4`);
    const body = (await (await fetch(`${gw.url}/api/v1/incidents/${incident}`)).json()) as IncidentBody;
    expect(body).toMatchObject({ ongoing: false, clip: announced.url });

    const listed = (await (await fetch(`${gw.url}/api/v1/cameras/door/recordings`)).json()) as {
      recordings: { kind: string; incident: string; state: string; url: string; durationMs: number }[];
    };
    expect(listed.recordings).toEqual([
      expect.objectContaining({
        kind: "clip",
        incident,
        state: "done",
        url: `/api/v1/recordings/${incident}/file.mp4`,
        durationMs: announced.durationMs,
      }),
    ]);
    const answer = await fetch(`${gw.url}${announced.url}`);
    expect(answer.status).toBe(200);
    expect(answer.headers.get("content-type")).toBe("video/mp4");
    expect(answer.headers.get("accept-ranges")).toBe("bytes");
    const mp4 = Buffer.from(await answer.arrayBuffer());
    const file = join(dir, "clip.mp4");
    writeFileSync(file, mp4);
    const ranged = await fetch(`${gw.url}${announced.url}`, { headers: { range: "bytes=100-199" } });
    expect(ranged.status).toBe(206);
    expect(ranged.headers.get("content-range")).toBe(`bytes 100-199/${mp4.length}`);
    expect(Buffer.from(await ranged.arrayBuffer())).toEqual(mp4.subarray(100, 200));

    const ffprobe = locateFfprobe();
    if (!ffprobe) {
      if (process.env.CI === "true") throw new Error("ffprobe is not installed");
      return;
    }
    const probe = await runTool(ffprobe, [
      "-v",
      "error",
      "-show_entries",
      "format=format_name,duration:stream=codec_name,width,height",
      "-of",
      "json",
      file,
    ]);
    expect(probe.code).toBe(0);
    const probed = JSON.parse(probe.stdout.toString()) as {
      format: { format_name: string; duration: string };
      streams: { codec_name: string; width: number; height: number }[];
    };
    expect(probed.format.format_name).toContain("mp4");
    expect(probed.streams[0]?.codec_name).toBe("h264");
    // The duration the file states is the one the index and the event give.
    expect(Math.abs(Number(probed.format.duration) * 1000 - announced.durationMs)).toBeLessThan(100);
    // At least the motion (1 s) and the post-roll (1 s); at most the pre-roll's GOP on top.
    expect(announced.durationMs).toBeGreaterThan(2000);
    expect(announced.durationMs).toBeLessThan(2000 + 2000 + 2000 + 3000);

    // The first picture was captured before the motion started: its clock says so.
    const width = probed.streams[0]?.width ?? 0;
    const height = probed.streams[0]?.height ?? 0;
    const frame = await runTool("ffmpeg", [
      "-v",
      "error",
      "-i",
      file,
      "-frames:v",
      "1",
      "-f",
      "rawvideo",
      "-pix_fmt",
      "gray",
      "-",
    ]);
    expect(frame.code).toBe(0);
    const luma = frame.stdout;
    expect(luma.length).toBe(width * height);
    const strip = readStrip(width, (x, y) => luma[Math.floor(y) * width + Math.floor(x)] ?? 0);
    expect(strip).toBeDefined();
    const capturedLow32 = strip?.capturedAtLow32 ?? 0;
    const triggeredLow32 = triggeredAt % 2 ** 32;
    const before = (triggeredLow32 - capturedLow32 + 2 ** 32) % 2 ** 32;
    expect(before).toBeGreaterThan(1000);
    expect(before).toBeLessThan(2000 + 3000);

    if (!locateChromium()) {
      if (process.env.CI === "true") throw new Error("chromium is not installed");
      return;
    }
    const chromium = await launchChromium();
    try {
      const page = await (await chromium.browser.newContext()).newPage();
      await page.goto(gw.url);
      const played = await page.evaluate(async (url) => {
        const doc = (
          globalThis as unknown as {
            document: { createElement(tag: string): unknown; body: { append(e: unknown): void } };
          }
        ).document;
        const video = doc.createElement("video") as {
          src: string;
          muted: boolean;
          currentTime: number;
          videoWidth: number;
          play(): Promise<void>;
          addEventListener(name: string, listener: () => void): void;
          error: { code: number } | null;
        };
        video.muted = true;
        video.src = url;
        doc.body.append(video);
        await new Promise<void>((resolve, reject) => {
          video.addEventListener("timeupdate", () => {
            if (video.currentTime > 0.5) resolve();
          });
          video.addEventListener("error", () => reject(new Error(`media error ${video.error?.code}`)));
          void video.play();
        });
        return { width: video.videoWidth, time: video.currentTime };
      }, announced.url);
      expect(played.width).toBe(width);
      expect(played.time).toBeGreaterThan(0.5);
      // The timeline's row of the incident offers the clip, playable in place.
      await page.goto(`${gw.url}/events`);
      const row = page.locator(`.timeline li[data-incident="${incident}"]`);
      await row.locator("details.clip summary").click();
      const video = row.locator("details.clip video");
      expect(await video.getAttribute("src")).toBe(announced.url);
      await waitFor(
        async () =>
          (await video.evaluate((v) => (v as unknown as { readyState: number }).readyState)) >= 1
            ? true
            : undefined,
        10_000,
        "the row's video to load",
      );
    } finally {
      await chromium.close();
    }
  }, 90_000);
});
