/**
 * HLS end to end: the multivariant playlist (for a viewer, and through a signed URL for players without
 * credentials), the session's LL-HLS media playlist with parts and a blocking reload answered when the part
 * is made, ffmpeg reading it as an HLS client (pictures decoded), hls.js playing it in Chromium, any number
 * of players on one camera session, and a forged session refused.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium, locateChromium, signIn } from "../helpers/browser.ts";
import { locateFfprobe } from "../helpers/ffprobe.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { runTool } from "../helpers/rtsp.ts";
import { itWithTool } from "../helpers/system-tools.ts";

const AUTH = { authorization: `Basic ${Buffer.from("alice:alice-hls-pw").toString("base64")}` };
const HLS_JS = readFileSync(createRequire(import.meta.url).resolve("hls.js/dist/hls.min.js"), "utf8");

let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway({
    cameras: [{ id: "yard", profile: "dahua-2024" }],
    users: [{ name: "alice", role: "viewer", password: "alice-hls-pw" }],
  });
});

afterAll(async () => {
  await gw?.close();
});

/** The variant's media playlist URL from the multivariant playlist at `url`. */
async function variant(url: string, headers: Record<string, string> = AUTH): Promise<string> {
  const answer = await fetch(url, { headers });
  expect(answer.status).toBe(200);
  expect(answer.headers.get("content-type")).toBe("application/vnd.apple.mpegurl");
  const text = await answer.text();
  expect(text).toMatch(/#EXT-X-STREAM-INF:BANDWIDTH=\d+,CODECS="avc1\.[0-9a-f]{6}",RESOLUTION=\d+x\d+\n/);
  const uri = text.trim().split("\n").at(-1) as string;
  return new URL(uri, url).href;
}

async function signed(path: string): Promise<string> {
  const answer = await fetch(`${gw.url}/api/v1/signed-urls`, {
    method: "POST",
    headers: { ...AUTH, "content-type": "application/json" },
    body: JSON.stringify({ path }),
  });
  return ((await answer.json()) as { url: string }).url;
}

describe("HLS", () => {
  it("serves an LL-HLS playlist whose parts and segments need no credentials, with blocking reloads", async () => {
    expect((await fetch(`${gw.url}/api/v1/cameras/yard/hls/index.m3u8`)).status).toBe(401);
    const media = await variant(`${gw.url}/api/v1/cameras/yard/hls/index.m3u8`);
    expect(media).toMatch(/\/api\/v1\/cameras\/yard\/hls\/s\/[A-Za-z0-9_-]{24}\/media\.m3u8$/);
    const playlist = await (await fetch(media)).text();
    expect(playlist).toMatch(/#EXT-X-PART-INF:PART-TARGET=0\.500\n/);
    expect(playlist).toMatch(/#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1\.500\n/);
    expect(playlist).toMatch(/#EXT-X-MAP:URI="init-\d+\.mp4"\n/);
    expect(playlist).toMatch(/#EXT-X-PART:DURATION=0\.\d{3},URI="part-\d+\.0\.m4s",INDEPENDENT=YES\n/);
    // The init segment and a part, with no credentials: the session path is the key.
    const map = /#EXT-X-MAP:URI="([^"]+)"/.exec(playlist)?.[1] as string;
    const init = await fetch(new URL(map, media));
    expect(init.status).toBe(200);
    expect(
      Buffer.from(await init.arrayBuffer())
        .subarray(4, 8)
        .toString(),
    ).toBe("ftyp");
    // A blocking reload for the next segment's first part is answered once that part exists.
    const last = [...playlist.matchAll(/part-(\d+)\.(\d+)\.m4s/g)].at(-1) as RegExpMatchArray;
    const next = Number(last[1]) + 1;
    const blocked = await (await fetch(`${media}?_HLS_msn=${next}&_HLS_part=0`)).text();
    expect(blocked).toContain(`URI="part-${next}.0.m4s",INDEPENDENT=YES`);
    const part = await fetch(new URL(`part-${next}.0.m4s`, media));
    expect(part.status).toBe(200);
    expect(
      Buffer.from(await part.arrayBuffer())
        .subarray(4, 8)
        .toString(),
    ).toBe("moof");
    // Too far ahead is the player's error; a forged session is no session.
    expect((await fetch(`${media}?_HLS_msn=${next + 10}`)).status).toBe(400);
    const forged = media.replace(/\/s\/[^/]+\//, "/s/AAAAAAAAAAAAAAAAAAAAAAAA/");
    expect((await fetch(forged)).status).toBe(404);
  });

  it("ffmpeg reads it as an HLS client through a signed URL, and every player shares one camera session", async () => {
    const ffprobe = locateFfprobe();
    if (!ffprobe) {
      if (process.env.CI === "true") throw new Error("ffprobe is not installed");
      return;
    }
    const url = await signed("/api/v1/cameras/yard/hls/index.m3u8");
    const probe = await runTool(ffprobe, [
      "-v",
      "error",
      "-show_entries",
      "stream=codec_name,width,height",
      "-of",
      "csv=p=0",
      url,
    ]);
    expect(probe.stdout.toString().trim()).toMatch(/^h264,\d+,\d+$/m);
    const decoded = await runTool("ffmpeg", [
      "-v",
      "error",
      "-i",
      await signed("/api/v1/cameras/yard/hls/index.m3u8"),
      "-t",
      "3",
      "-f",
      "framemd5",
      "-",
    ]);
    expect(decoded.code).toBe(0);
    expect(
      decoded.stdout
        .toString()
        .split("\n")
        .filter((l) => /^0,/.test(l)).length,
    ).toBeGreaterThan(25);
    expect(gw.cameras.get("yard")?.camera.rtsp?.openSessions).toBe(1);
  }, 60_000);

  itWithTool("chromium", locateChromium, "hls.js plays it in Chromium", async () => {
    const chromium: { browser: Browser; close(): Promise<void> } = await launchChromium();
    try {
      const page = await chromium.browser.newPage();
      const url = await signed("/api/v1/cameras/yard/hls/index.m3u8");
      // A page of camgate's origin (so hls.js's requests are same-origin), made by the test, with hls.js.
      await page.route(`${gw.url}/hls-test.html`, (route) =>
        route.fulfill({
          contentType: "text/html",
          body: `<!doctype html><video id="v" muted playsinline></video><script>${HLS_JS}</script><script>
            const video = document.getElementById("v");
            window.hlsErrors = [];
            const hls = new Hls({ lowLatencyMode: true });
            hls.on(Hls.Events.ERROR, (_e, data) => { if (data.fatal) window.hlsErrors.push(data.details); });
            hls.loadSource(${JSON.stringify(url)});
            hls.attachMedia(video);
            video.play();
          </script>`,
        }),
      );
      await page.goto(`${gw.url}/hls-test.html`);
      await page.waitForFunction(
        () => {
          const video = (
            globalThis as unknown as { document: { getElementById(id: string): { currentTime: number } } }
          ).document.getElementById("v");
          return video.currentTime > 2;
        },
        undefined,
        { timeout: 20_000 },
      );
      expect(await page.evaluate(() => (globalThis as unknown as { hlsErrors: string[] }).hlsErrors)).toEqual(
        [],
      );
      const size = await page.evaluate(() => {
        const video = (
          globalThis as unknown as {
            document: { getElementById(id: string): { videoWidth: number; videoHeight: number } };
          }
        ).document.getElementById("v");
        return [video.videoWidth, video.videoHeight];
      });
      expect(size[0]).toBeGreaterThan(0);
    } finally {
      await chromium.close();
    }
  });

  itWithTool(
    "chromium",
    locateChromium,
    "the camera page falls back to the browser's own HLS where MSE is missing",
    async () => {
      const chromium: { browser: Browser; close(): Promise<void> } = await launchChromium();
      try {
        const page = await chromium.browser.newPage();
        const native = await page.evaluate(() =>
          (
            globalThis as unknown as {
              document: { createElement(t: string): { canPlayType(m: string): string } };
            }
          ).document
            .createElement("video")
            .canPlayType("application/vnd.apple.mpegurl"),
        );
        if (native === "") return; // this Chromium has no HLS of its own: nothing to fall back to
        // A browser without MSE (an iPhone before iOS 17.1), as far as the page can tell.
        await page.addInitScript(() => {
          const scope = globalThis as unknown as Record<string, unknown>;
          delete scope.MediaSource;
          delete scope.ManagedMediaSource;
        });
        const asked: string[] = [];
        const started = Date.now();
        const answers: string[] = [];
        page.on("request", (request) => asked.push(new URL(request.url()).pathname));
        page.on("response", (response) => {
          const url = new URL(response.url());
          if (url.pathname.includes("/hls/"))
            answers.push(`${Date.now() - started} ms ${response.status()} ${url.pathname}${url.search}`);
        });
        page.on("console", (message) =>
          answers.push(`${Date.now() - started} ms console: ${message.text()}`),
        );
        await signIn(page, gw.url, "alice", "alice-hls-pw");
        await page.goto(`${gw.url}/camera/yard`);
        try {
          await page.waitForFunction(
            () => {
              const video = (
                globalThis as unknown as {
                  document: { querySelector(s: string): { currentTime: number } | null };
                }
              ).document.querySelector(".live video");
              return video !== null && video.currentTime > 1;
            },
            undefined,
            // Three whole segments before the first playlist, then Chromium's own start: slow on a busy machine.
            { timeout: 90_000 },
          );
        } catch (error) {
          // What the browser had and asked for, so a failure in CI says why.
          const video = await page.evaluate(() => {
            const v = (
              globalThis as unknown as {
                document: {
                  querySelector(s: string): {
                    currentTime: number;
                    readyState: number;
                    networkState: number;
                    paused: boolean;
                    error: { code: number; message: string } | null;
                    currentSrc: string;
                  } | null;
                };
              }
            ).document.querySelector(".live video");
            return v
              ? {
                  currentTime: v.currentTime,
                  readyState: v.readyState,
                  networkState: v.networkState,
                  paused: v.paused,
                  error: v.error ? `${v.error.code} ${v.error.message}` : null,
                  src: v.currentSrc.replace(/^.*\/api/, "/api"),
                }
              : null;
          });
          const overlay = await page.locator(".live").textContent();
          throw new Error(
            `${String(error)}\nvideo: ${JSON.stringify(video)}\noverlay: ${overlay}\nHLS answers:\n${answers.slice(-40).join("\n")}`,
          );
        }
        expect(asked).toContain("/api/v1/cameras/yard/hls/index.m3u8");
        expect(asked.some((path) => path.endsWith("/live"))).toBe(false);
      } finally {
        await chromium.close();
      }
    },
    120_000,
  );
});
