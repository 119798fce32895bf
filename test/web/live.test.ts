/**
 * The camera page's live player in Debian's Chromium: the main stream over MSE (videoWidth as the stream's,
 * decoded frames rising), the sub-stream on its toggle, playing again after a camera reboot without a
 * reload. Screenshots at 1280 and 375 px go to test-artifacts/ui/ (git-ignored).
 */
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect } from "vitest";
import { launchChromium, locateChromium, signIn } from "../helpers/browser.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { measureGlass } from "../helpers/glass.ts";
import { waitFor } from "../helpers/http.ts";
import { itWithTool } from "../helpers/system-tools.ts";

const ARTIFACTS = resolve(import.meta.dirname, "../../test-artifacts/ui");
const SIZES = { desktop: { width: 1280, height: 860 }, phone: { width: 375, height: 760 } } as const;

/** What page code reads of the <video> (the tests compile without the DOM library). */
interface VideoLike {
  videoWidth: number;
  videoHeight: number;
  currentTime: number;
  getVideoPlaybackQuality(): { totalVideoFrames: number };
}

interface Playback {
  width: number;
  height: number;
  frames: number;
  time: number;
}

function playback(page: Page): Promise<Playback> {
  return page.getByTestId("live-video").evaluate((element) => {
    const video = element as unknown as VideoLike;
    return {
      width: video.videoWidth,
      height: video.videoHeight,
      frames: video.getVideoPlaybackQuality().totalVideoFrames,
      time: video.currentTime,
    };
  });
}

/** Waits until the page has decoded `more` frames beyond `from`. */
async function framesBeyond(page: Page, from: number, more: number, timeoutMs = 20_000): Promise<Playback> {
  return waitFor(
    async () => {
      const now = await playback(page);
      return now.frames >= from + more ? now : undefined;
    },
    timeoutMs,
    `${more} more decoded frames`,
  );
}

describe("live player", () => {
  let gw: TestGateway;
  let chromium: { browser: Browser; close(): Promise<void> } | undefined;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    gw = await startTestGateway({
      cameras: [
        { id: "dogs", profile: "amcrest-ip2m-841b" },
        { id: "clock", profile: "amcrest-ip2m-841b", emulator: { rtsp: { mainVideo: "counter" } } },
        { id: "hevc", profile: "dahua-h265" },
      ],
      users: [{ name: "alice", role: "admin", password: "alice-live-pw" }],
      relay: { lingerMs: 300 },
    });
    if (locateChromium()) chromium = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await chromium?.close();
    await gw?.close();
  });

  async function cameraPage(
    size: keyof typeof SIZES = "desktop",
    camera = "dogs",
    query = "",
  ): Promise<Page> {
    if (!chromium) throw new Error("no browser");
    const context = await chromium.browser.newContext({ viewport: SIZES[size] });
    const page = await context.newPage();
    await signIn(page, gw.url, "alice", "alice-live-pw");
    await page.goto(`${gw.url}/camera/${camera}${query}`);
    await page.getByTestId("live-video").waitFor();
    return page;
  }

  async function streamSize(name: string, camera = "dogs"): Promise<{ width: number; height: number }> {
    const hub = gw.camgate.streams.list().find((h) => h.camera === camera && h.name === name);
    const stats = hub?.stats();
    if (!stats?.width || !stats.height) throw new Error(`no ${name} stream size`);
    return { width: stats.width, height: stats.height };
  }

  itWithTool(
    "chromium",
    locateChromium,
    "the camera page plays the main stream over MSE: the stream's size, decoded frames rising",
    async () => {
      const page = await cameraPage();
      const first = await framesBeyond(page, 0, 5);
      const size = await streamSize("main");
      expect({ width: first.width, height: first.height }).toEqual(size);
      const later = await framesBeyond(page, first.frames, 25);
      expect(later.time).toBeGreaterThan(first.time);
      await page.getByRole("button", { name: "Latency" }).click();
      await page
        .getByTestId("latency")
        .filter({ hasText: /player buffer \d+ ms/ })
        .waitFor();
      for (const [name, viewport] of Object.entries(SIZES)) {
        await page.setViewportSize(viewport);
        await framesBeyond(page, (await playback(page)).frames, 3);
        await page.screenshot({ path: join(ARTIFACTS, `camera-live-${name}.png`), fullPage: true });
      }
      await page.context().close();
    },
    60_000,
  );

  itWithTool(
    "chromium",
    locateChromium,
    "the frame counter burned into the emulator's pictures reads back from the page's pixels, advancing",
    async () => {
      const page = await cameraPage("desktop", "clock");
      await framesBeyond(page, 0, 3);
      const result = await measureGlass(page.getByTestId("live-video"), 30);
      expect(result.unreadable).toBe(0);
      const counters = result.samples.map((s) => s.counter);
      for (let i = 1; i < counters.length; i++)
        expect(counters[i]).toBeGreaterThan(counters[i - 1] as number);
      // The clock read back is the capture clock of this machine: displayed after it was captured, and
      // seconds at most (a misread would be off by days).
      for (const sample of result.samples) expect(sample.latencyMs).toBeLessThan(10_000);
      await page.screenshot({ path: join(ARTIFACTS, "camera-live-counter-desktop.png") });
      await page.context().close();
    },
    60_000,
  );

  itWithTool(
    "chromium",
    locateChromium,
    "the WebRTC toggle plays the main stream: its size, decoded frames, the counter advancing in the pixels",
    async () => {
      const page = await cameraPage("desktop", "clock");
      await framesBeyond(page, 0, 3);
      await page.getByRole("button", { name: "WebRTC" }).click();
      await page.getByRole("button", { name: "WebRTC", pressed: true }).waitFor();
      const size = await streamSize("main", "clock");
      const first = await waitFor(
        async () => {
          const now = await playback(page);
          return now.width === size.width && now.frames > 3 ? now : undefined;
        },
        20_000,
        "WebRTC frames",
      );
      expect(first.height).toBe(size.height);
      const result = await measureGlass(page.getByTestId("live-video"), 30);
      expect(result.unreadable).toBe(0);
      const counters = result.samples.map((s) => s.counter);
      for (let i = 1; i < counters.length; i++)
        expect(counters[i]).toBeGreaterThan(counters[i - 1] as number);
      expect(gw.camgate.webrtc?.size).toBe(1);
      await page.screenshot({ path: join(ARTIFACTS, "camera-webrtc-desktop.png") });
      await page.context().close();
    },
    60_000,
  );

  itWithTool(
    "chromium",
    locateChromium,
    "an H.265 main stream this browser cannot decode: the page says so, and the H.264 sub-stream plays",
    async () => {
      const page = await cameraPage("desktop", "hevc");
      const hevcInMse = await page.evaluate(() =>
        (
          globalThis as unknown as { MediaSource: { isTypeSupported(t: string): boolean } }
        ).MediaSource.isTypeSupported('video/mp4; codecs="hvc1.1.6.L93.B0"'),
      );
      if (hevcInMse) {
        // A Chromium with HEVC decoding plays it like any other stream.
        await framesBeyond(page, 0, 5);
      } else {
        await page
          .getByTestId("player-state")
          .filter({ hasText: "Cannot play" })
          .waitFor({ timeout: 20_000 });
        await expect(page.getByTestId("player-state").textContent()).resolves.toContain("hvc1");
      }
      await page.getByRole("button", { name: "Sub-stream" }).click();
      await framesBeyond(page, 0, 5);
      await page.context().close();
    },
    60_000,
  );

  itWithTool(
    "chromium",
    locateChromium,
    "the sub-stream toggle plays the sub-stream at its own size",
    async () => {
      const page = await cameraPage("phone");
      await framesBeyond(page, 0, 3);
      await page.getByRole("button", { name: "Sub-stream" }).click();
      const size = await waitFor(
        async () => {
          try {
            return await streamSize("sub");
          } catch {
            return undefined;
          }
        },
        15_000,
        "the sub stream",
      );
      const sub = await waitFor(
        async () => {
          const now = await playback(page);
          return now.width === size.width && now.frames > 3 ? now : undefined;
        },
        20_000,
        "sub-stream frames",
      );
      expect(sub.height).toBe(size.height);
      await page.context().close();
    },
    60_000,
  );

  for (const [mode, query] of [
    ["MSE", ""],
    ["WebRTC", "?mode=webrtc"],
  ] as const) {
    itWithTool(
      "chromium",
      locateChromium,
      `after a camera reboot the page plays again without a reload (${mode})`,
      async () => {
        const page = await cameraPage("desktop", "dogs", query);
        await framesBeyond(page, 0, 10);
        const hub = gw.camgate.streams.list().find((h) => h.camera === "dogs" && h.name === "main");
        const connects = hub?.stats().upstreamConnects ?? 0;
        const control = gw.cameras.get("dogs")?.control;
        await control?.reboot(1500);
        await waitFor(
          () => ((hub?.stats().upstreamConnects ?? 0) > connects && hub?.state === "live" ? true : undefined),
          30_000,
          "the stream back from the camera",
        );
        const back = await playback(page);
        const after = await framesBeyond(page, back.frames, 25, 30_000);
        expect(after.time).toBeGreaterThan(back.time);
        await page.context().close();
      },
      90_000,
    );
  }
});
