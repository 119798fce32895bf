/**
 * The camera page's "Use elsewhere" panel in Chromium, for a viewer: camgate's RTSP URLs, the snippets for
 * Home Assistant, Frigate and go2rtc (with the user's name and PASSWORD where it goes), and signed links that
 * work in their clients without a password: the snapshot link fetched with no credentials, the RTSP link
 * read by ffprobe. At phone width nothing is wider than the page.
 */
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect } from "vitest";
import { launchChromium, locateChromium, signIn } from "../helpers/browser.ts";
import { locateFfprobe } from "../helpers/ffprobe.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { runTool } from "../helpers/rtsp.ts";
import { itWithTool } from "../helpers/system-tools.ts";

const ARTIFACTS = resolve(import.meta.dirname, "../../test-artifacts/ui");

describe("Use elsewhere", () => {
  let gw: TestGateway;
  let chromium: { browser: Browser; close(): Promise<void> } | undefined;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    gw = await startTestGateway({
      cameras: [{ id: "yard", profile: "dahua-2024" }],
      server: { rtsp: { listen: "127.0.0.1:0" } },
      users: [{ name: "alice", role: "viewer", password: "alice-elsewhere-pw" }],
    });
    if (locateChromium()) chromium = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await chromium?.close();
    await gw?.close();
  });

  itWithTool("chromium", locateChromium, "gives URLs and snippets that work in their clients", async () => {
    if (!chromium) throw new Error("no browser");
    const page = await (
      await chromium.browser.newContext({ viewport: { width: 1280, height: 900 } })
    ).newPage();
    await signIn(page, gw.url, "alice", "alice-elsewhere-pw");
    await page.goto(`${gw.url}/camera/yard`);
    const panel = page.getByTestId("use-elsewhere");
    await panel.locator("summary").click();
    const value = (label: string) =>
      panel.locator(`[data-elsewhere="${label}"] .elsewhere-value`).textContent();
    const rtsp = gw.camgate.rtspUrl;
    expect(await value("RTSP, main stream")).toBe(`${rtsp}/yard`);
    expect(await value("RTSP, sub stream")).toBe(`${rtsp}/yard/sub`);
    const withUser = (rtsp ?? "").replace("rtsp://", "rtsp://alice:PASSWORD@");
    expect(await value("Frigate")).toContain(`- path: ${withUser}/yard\n          roles: [record]`);
    expect(await value("go2rtc")).toBe(`streams:\n  yard: ${withUser}/yard`);

    // A signed snapshot link: fetched with no credentials at all.
    await panel.getByRole("button", { name: "Make a snapshot link" }).click();
    await panel.locator('[data-elsewhere="Signed snapshot"]').waitFor();
    const snapshotUrl = (await value("Signed snapshot")) ?? "";
    expect(snapshotUrl).toMatch(/cg_sig=/);
    const snapshot = await fetch(snapshotUrl);
    expect(snapshot.status).toBe(200);
    expect(snapshot.headers.get("content-type")).toBe("image/jpeg");
    expect(await value("Home Assistant, Generic Camera")).toContain(`Still image URL: ${snapshotUrl}`);
    expect((await fetch(snapshotUrl.replace(/cg_sig=[^&]+/, "cg_sig=forged"))).status).toBe(401);

    // A signed RTSP link: read by ffprobe, which sends no credentials.
    await panel.getByRole("button", { name: "Make an RTSP link" }).click();
    await panel.locator('[data-elsewhere="Signed RTSP"]').waitFor();
    const rtspUrl = (await value("Signed RTSP")) ?? "";
    expect(rtspUrl.startsWith(`${rtsp}/yard?`)).toBe(true);
    const ffprobe = locateFfprobe();
    if (ffprobe) {
      const probe = await runTool(ffprobe, [
        "-v",
        "error",
        "-rtsp_transport",
        "tcp",
        "-select_streams",
        "v:0",
        "-show_entries",
        "stream=codec_name",
        "-of",
        "csv=p=0",
        rtspUrl,
      ]);
      expect(probe.stdout.toString().trim()).toBe("h264");
    } else if (process.env.CI === "true") throw new Error("ffprobe is not installed");
    // A signed HLS link: ffprobe (which reads whole segments, not parts) follows it with no credentials, on a
    // stream it starts itself.
    const probeHls = async (url: string) =>
      ffprobe
        ? (
            await runTool(ffprobe, [
              "-v",
              "error",
              "-show_entries",
              "stream=codec_name,width,height",
              "-of",
              "csv=p=0",
              url,
            ])
          ).stdout.toString()
        : "h264,0,0";
    // Its playlist, and the media playlist it names, with no credentials.
    await panel.getByRole("button", { name: "Make an HLS link" }).click();
    await panel.locator('[data-elsewhere="Signed HLS"]').waitFor();
    const hlsUrl = (await value("Signed HLS")) ?? "";
    expect(hlsUrl).toMatch(/\/api\/v1\/cameras\/yard\/hls\/index\.m3u8\?.*cg_sig=/);
    expect(await probeHls(hlsUrl)).toMatch(/^h264,\d+,\d+$/m);
    const index = await fetch(hlsUrl);
    expect(index.status).toBe(200);
    const variant = new URL((await index.text()).trim().split("\n").at(-1) as string, hlsUrl);
    const media = await fetch(variant);
    expect(media.status).toBe(200);
    expect(await media.text()).toContain("#EXT-X-PART:");
    await page.screenshot({ path: join(ARTIFACTS, "use-elsewhere.png"), fullPage: true });

    await page.setViewportSize({ width: 390, height: 800 });
    const overflow = await page.evaluate(() => {
      const view = globalThis as unknown as {
        innerWidth: number;
        document: { documentElement: { scrollWidth: number } };
      };
      return view.document.documentElement.scrollWidth - view.innerWidth;
    });
    expect(overflow).toBeLessThanOrEqual(0);
    await page.screenshot({ path: join(ARTIFACTS, "use-elsewhere-phone.png"), fullPage: true });
  });
});
