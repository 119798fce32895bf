/**
 * The camera page's timeline, in Chromium: camgate's segments and event clips, the camera's SD card
 * recordings and a mark per incident are drawn where they happened; a click on the track plays the stored
 * footage from that moment (the picture's burned-in clock says which moment it shows), a mark plays its
 * incident from just before it, and an SD card file offers its download.
 */
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect } from "vitest";
import { readStrip } from "../../src/emulator/counter-encoder.ts";
import { launchChromium, locateChromium } from "../helpers/browser.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { waitFor } from "../helpers/http.ts";
import { runTool } from "../helpers/rtsp.ts";
import { itWithTool } from "../helpers/system-tools.ts";

const ARTIFACTS = resolve(import.meta.dirname, "../../test-artifacts/ui");

interface Listed {
  kind: string;
  start: string;
  state: string;
}

/** The burned-in capture clock (low 32 bits of ms) of the first picture at a URL, as ffmpeg decodes it. */
async function firstPictureClock(url: string): Promise<number | undefined> {
  const width = 640;
  const decoded = await runTool("ffmpeg", [
    "-v",
    "error",
    "-i",
    url,
    "-frames:v",
    "1",
    "-vf",
    `crop=${width}:16:0:0`,
    "-f",
    "rawvideo",
    "-pix_fmt",
    "gray",
    "-",
  ]);
  if (decoded.code !== 0) return undefined;
  const luma = decoded.stdout;
  return readStrip(width, (x, y) => luma[Math.floor(y) * width + Math.floor(x)] ?? 0)?.capturedAtLow32;
}

describe("the camera page's timeline", () => {
  let gw: TestGateway;
  let chromium: { browser: Browser; close(): Promise<void> } | undefined;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    gw = await startTestGateway({
      cameras: [
        {
          id: "yard",
          profile: "amcrest-ip2m-841b",
          emulator: { rtsp: { mainVideo: "counter" } },
          config: { recording: { continuous: { segmentSeconds: 2 } } },
        },
      ],
      events: { enabled: true, heartbeatSeconds: 1, snapshotCodes: [] },
      recording: { clips: { enabled: true, preRollSeconds: 1, postRollSeconds: 1 } },
    });
    if (locateChromium()) chromium = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await chromium?.close();
    await gw?.close();
  });

  itWithTool(
    "chromium",
    locateChromium,
    "draws footage, SD card files and incidents, and plays from where it is clicked",
    async () => {
      if (!chromium) throw new Error("no browser");
      const segments = async () =>
        (
          (await (await fetch(`${gw.url}/api/v1/cameras/yard/recordings`)).json()) as { recordings: Listed[] }
        ).recordings.filter((r) => r.kind === "segment" && r.state === "done");
      const first = await waitFor(
        async () => {
          const list = await segments();
          return list.length >= 4 ? list[0] : undefined;
        },
        40_000,
        "four segments",
      );
      await waitFor(
        () => (gw.camgate.events.sources.streams.get("yard")?.current === "live" ? true : undefined),
        10_000,
        "the event stream",
      );
      const control = gw.cameras.get("yard")?.control;
      control?.trigger("VideoMotion", "Start");
      const incident = await waitFor(
        async () => {
          const body = (await (await fetch(`${gw.url}/api/v1/incidents?camera=yard`)).json()) as {
            incidents: { id: string; start: string }[];
          };
          return body.incidents[0];
        },
        10_000,
        "the incident",
      );
      control?.trigger("VideoMotion", "Stop");
      await waitFor(
        async () => {
          const body = (await (await fetch(`${gw.url}/api/v1/incidents/${incident.id}`)).json()) as {
            clip: string | null;
          };
          return body.clip ?? undefined;
        },
        15_000,
        "the clip",
      );

      const page = await (
        await chromium.browser.newContext({ viewport: { width: 1280, height: 1000 } })
      ).newPage();
      await page.goto(`${gw.url}/camera/yard`);
      const track = page.locator(".timeline-track");
      await track.locator('[data-kind="segment"]').nth(3).waitFor({ timeout: 15_000 });
      await track.locator('[data-kind="clip"]').first().waitFor({ timeout: 15_000 });
      await track.locator(`.mark[data-incident="${incident.id}"]`).waitFor({ timeout: 15_000 });
      // It opens at the last 10 minutes; the card's recordings from 10 and 30 minutes before the camera
      // powered on are in the last hour.
      expect(await page.getByRole("button", { name: "10 min" }).getAttribute("aria-pressed")).toBe("true");
      await page.getByRole("button", { name: "1 h" }).click();
      await track.locator('[data-kind="sd"]').nth(1).waitFor({ timeout: 15_000 });
      await page.screenshot({ path: join(ARTIFACTS, "timeline.png"), fullPage: true });

      // Click on the first segment: the player loads the stored footage from that moment.
      // Clicked through the track's locator, at the bar's place in it: Playwright waits for the track to be
      // still, so a part of the page filling in above it cannot move it from under the click.
      const bar = await track.locator('[data-kind="segment"]').first().boundingBox();
      const box = await track.boundingBox();
      if (!bar || !box) throw new Error("no layout");
      // Below the incident marks, which sit on the lane's top edge.
      await track.click({
        position: { x: bar.x - box.x + bar.width / 2, y: bar.y - box.y + bar.height - 2 },
      });
      const video = page.locator(".playback video");
      await video.waitFor({ timeout: 10_000 });
      const src = (await video.getAttribute("src")) ?? "";
      expect(src).toMatch(/^\/api\/v1\/cameras\/yard\/export\.mp4\?from=\d+&to=\d+$/);
      const from = Number(new URL(src, gw.url).searchParams.get("from"));
      // One pixel of a one-hour track is about 3 s.
      expect(Math.abs(from - Date.parse(first?.start ?? ""))).toBeLessThan(10_000);
      await waitFor(
        async () =>
          (await video.evaluate((v) => (v as unknown as { currentTime: number }).currentTime)) > 0.3
            ? true
            : undefined,
        15_000,
        "the footage to play",
      );
      // The picture shows the moment clicked: from the keyframe at or before it, or the first footage. The
      // export finds "at or before" on camgate's clock (when the pictures arrived), the pixels carry the
      // camera's (when they were taken): a GOP (1 s) early, plus how late pictures arrive, which on a loaded
      // machine (beside a CPU hog: 1.2 s measured, and more) is up to a second more.
      const shown = await firstPictureClock(`${gw.url}${src}`);
      expect(shown).toBeDefined();
      const expected = Math.max(from, Date.parse(first?.start ?? "")) % 2 ** 32;
      const early = (expected - (shown ?? 0) + 2 ** 32) % 2 ** 32;
      expect(early < 2500 || early > 2 ** 32 - 300).toBe(true);

      // An incident's mark plays it from 5 s before it started.
      await track.locator(`.mark[data-incident="${incident.id}"]`).click();
      await waitFor(
        async () => {
          const now = (await page.locator(".playback video").getAttribute("src")) ?? "";
          return now !== src ? now : undefined;
        },
        5000,
        "the mark's footage",
      ).then((markSrc) => {
        expect(Number(new URL(markSrc, gw.url).searchParams.get("from"))).toBe(
          Date.parse(incident.start) - 5000,
        );
      });

      // An SD card file offers its download.
      await track.locator('[data-kind="sd"]').last().click();
      const link = page.locator(".sd-file a");
      expect(await link.getAttribute("href")).toMatch(
        /^\/api\/v1\/cameras\/yard\/sdcard\/file\?path=%2Fmnt%2Fsd%2F/,
      );
    },
    90_000,
  );

  itWithTool(
    "chromium",
    locateChromium,
    "the Events page on a phone loads no clip until one is opened",
    async () => {
      if (!chromium) throw new Error("no browser");
      // The first test made an incident with a clip.
      const clip = await waitFor(
        async () => {
          const body = (await (await fetch(`${gw.url}/api/v1/incidents?camera=yard`)).json()) as {
            incidents: { clip?: string | null }[];
          };
          return body.incidents.find((i) => i.clip)?.clip ?? undefined;
        },
        20_000,
        "an incident with a clip",
      );
      const page = await (
        await chromium.browser.newContext({ viewport: { width: 390, height: 800 } })
      ).newPage();
      const fetched: string[] = [];
      page.on("request", (request) => fetched.push(new URL(request.url()).pathname));
      const clipPath = new URL(clip, gw.url).pathname;
      await page.goto(`${gw.url}/events`);
      const details = page.locator("details.clip").first();
      await details.waitFor();
      await page.waitForLoadState("networkidle");
      expect(fetched.filter((path) => path === clipPath)).toEqual([]);
      expect(await page.locator("details.clip video").count()).toBe(0);
      await details.locator("summary").click();
      await page.locator("details.clip video").first().waitFor();
      // Opened: now, and only now, its clip is fetched.
      await waitFor(() => (fetched.includes(clipPath) ? true : undefined), 10_000, "the clip requested");

      // The camera page lists incidents: the motion once (its start and stop are one row), no ClipReady row.
      await page.goto(`${gw.url}/camera/yard`);
      const list = page.getByTestId("camera-incidents");
      await list.locator('[data-code="VideoMotion"]').first().waitFor();
      const incidents = await list
        .locator("li[data-incident]")
        .evaluateAll((rows) =>
          rows.map((row) => (row as unknown as { dataset: { incident: string } }).dataset.incident),
        );
      expect(new Set(incidents).size).toBe(incidents.length);
      expect(await list.locator('[data-code="ClipReady"]').count()).toBe(0);
    },
    60_000,
  );
});
