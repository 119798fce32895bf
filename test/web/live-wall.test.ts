/**
 * The live wall in Debian's Chromium: every camera's tile plays its sub-stream (the video's size is the
 * sub-stream's), a click focuses a camera on its main stream and Escape goes back, group tabs narrow the wall
 * and live in the address, and Full screen shows the wall alone with its tiles filling the screen.
 * Screenshots at 1280 and 390 px and in full screen go to test-artifacts/ui/ (git-ignored).
 */
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Browser, Locator, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect } from "vitest";
import { launchChromium, locateChromium, signIn } from "../helpers/browser.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { waitFor } from "../helpers/http.ts";
import { itWithTool } from "../helpers/system-tools.ts";

const ARTIFACTS = resolve(import.meta.dirname, "../../test-artifacts/ui");

interface VideoLike {
  videoWidth: number;
  videoHeight: number;
  getVideoPlaybackQuality(): { totalVideoFrames: number };
}

function videoOf(page: Page, camera: string): Locator {
  return page.locator(`[data-camera="${camera}"] video`);
}

async function playing(video: Locator, what: string): Promise<{ width: number; height: number }> {
  return waitFor(
    async () => {
      const now = await video.evaluate((element) => {
        const v = element as unknown as VideoLike;
        return {
          width: v.videoWidth,
          height: v.videoHeight,
          frames: v.getVideoPlaybackQuality().totalVideoFrames,
        };
      });
      return now.frames >= 3 ? { width: now.width, height: now.height } : undefined;
    },
    20_000,
    what,
  );
}

describe("live wall", () => {
  let gw: TestGateway;
  let chromium: { browser: Browser; close(): Promise<void> } | undefined;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    gw = await startTestGateway({
      cameras: [
        { id: "dogs", profile: "amcrest-ip2m-841b", config: { name: "Dog crates", groups: ["Inside"] } },
        { id: "front", profile: "amcrest-ipm-723w", config: { name: "Front yard", groups: ["Outside"] } },
        {
          id: "drive",
          profile: "amcrest-ipm-723w",
          config: { name: "Driveway", protocol: "onvif", groups: ["Outside"] },
        },
      ],
      users: [{ name: "alice", role: "viewer", password: "alice-wall-pw" }],
      relay: { lingerMs: 300 },
    });
    if (locateChromium()) chromium = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await chromium?.close();
    await gw?.close();
  });

  async function wall(width = 1280, height = 860, path = "/"): Promise<Page> {
    if (!chromium) throw new Error("no browser");
    const page = await (await chromium.browser.newContext({ viewport: { width, height } })).newPage();
    await signIn(page, gw.url, "alice", "alice-wall-pw");
    await page.goto(`${gw.url}${path}`);
    await page.locator(".wall .tile").first().waitFor();
    return page;
  }

  function streamSize(camera: string, name: "main" | "sub"): { width: number; height: number } {
    const stats = gw.camgate.streams
      .list()
      .find((h) => h.camera === camera && h.name === name)
      ?.stats();
    if (!stats?.width || !stats.height) throw new Error(`no ${camera} ${name} stream size`);
    return { width: stats.width, height: stats.height };
  }

  itWithTool(
    "chromium",
    locateChromium,
    "every tile plays its camera's sub-stream; a click focuses the main stream, Escape goes back",
    async () => {
      const page = await wall();
      for (const camera of ["dogs", "front", "drive"]) {
        await expect(videoOf(page, camera).getAttribute("data-stream")).resolves.toBe("sub");
        const size = await playing(videoOf(page, camera), `${camera}'s sub-stream playing`);
        expect(size, camera).toEqual(streamSize(camera, "sub"));
      }
      await page.screenshot({ path: join(ARTIFACTS, "wall-desktop.png") });

      await page.getByRole("button", { name: "Dog crates: focus (main stream)" }).click();
      await page.locator('.tile[data-camera="dogs"][data-focused]').waitFor();
      await expect(videoOf(page, "dogs").getAttribute("data-stream")).resolves.toBe("main");
      const main = await playing(videoOf(page, "dogs"), "dogs' main stream playing");
      expect(main).toEqual(streamSize("dogs", "main"));
      expect(new URL(page.url()).searchParams.get("focus")).toBe("dogs");
      // The focused tile spans the wall: as wide as the wall itself.
      const [tileWidth, wallWidth] = await Promise.all([
        page
          .locator('.tile[data-camera="dogs"]')
          .evaluate((e) => (e as unknown as { clientWidth: number }).clientWidth),
        page.locator(".wall").evaluate((e) => (e as unknown as { clientWidth: number }).clientWidth),
      ]);
      expect(tileWidth).toBe(wallWidth);
      await page.screenshot({ path: join(ARTIFACTS, "wall-focused-desktop.png") });

      await page.keyboard.press("Escape");
      await page.locator(".tile[data-focused]").waitFor({ state: "detached" });
      await expect(videoOf(page, "dogs").getAttribute("data-stream")).resolves.toBe("sub");
      expect(new URL(page.url()).searchParams.get("focus")).toBeNull();
      await page.context().close();
    },
    90_000,
  );

  itWithTool(
    "chromium",
    locateChromium,
    "group tabs narrow the wall and are kept in the address; Full screen fills the screen with the tiles",
    async () => {
      const page = await wall();
      await page.getByRole("button", { name: "Outside" }).click();
      await page.locator('.tile[data-camera="dogs"]').waitFor({ state: "detached" });
      expect(await page.locator(".wall .tile").evaluateAll((tiles) => tiles.length)).toBe(2);
      expect(new URL(page.url()).searchParams.get("group")).toBe("Outside");

      // A wall display opens on its group.
      const display = await wall(390, 844, "/?group=Outside");
      await display.getByRole("button", { name: "Outside", pressed: true }).waitFor();
      expect(await display.locator(".wall .tile").evaluateAll((tiles) => tiles.length)).toBe(2);
      await playing(videoOf(display, "front"), "front on the phone");
      await display.screenshot({ path: join(ARTIFACTS, "wall-phone.png"), fullPage: true });
      await display.context().close();

      await page.getByRole("button", { name: "Full screen" }).click();
      await page.getByRole("button", { name: "Leave full screen" }).waitFor();
      const layout = await page.evaluate(() => {
        const scope = globalThis as unknown as {
          innerWidth: number;
          innerHeight: number;
          document: {
            fullscreenElement: { className: string } | null;
            querySelectorAll(s: string): ArrayLike<unknown>;
          };
        };
        const tiles = Array.from(scope.document.querySelectorAll(".wall .tile")) as {
          getBoundingClientRect(): {
            top: number;
            bottom: number;
            left: number;
            right: number;
            height: number;
          };
        }[];
        return {
          fullscreen: scope.document.fullscreenElement?.className ?? null,
          height: scope.innerHeight,
          width: scope.innerWidth,
          tiles: tiles.map((t) => t.getBoundingClientRect()),
        };
      });
      expect(layout.fullscreen).toContain("wall-frame");
      expect(layout.tiles).toHaveLength(2);
      for (const tile of layout.tiles) {
        // Inside the screen, and large: two tiles share it, so each takes a good part of its height.
        expect(tile.top).toBeGreaterThanOrEqual(0);
        expect(tile.bottom).toBeLessThanOrEqual(layout.height + 1);
        expect(tile.right).toBeLessThanOrEqual(layout.width + 1);
        expect(tile.height).toBeGreaterThan(layout.height * 0.4);
      }
      await page.screenshot({ path: join(ARTIFACTS, "wall-fullscreen.png") });
      await page.getByRole("button", { name: "Leave full screen" }).click();
      await page.getByRole("button", { name: "Full screen" }).waitFor();
      await page.context().close();
    },
    90_000,
  );
});
