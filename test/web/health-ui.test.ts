/**
 * The UI says what is wrong and what to do, in a real browser: a camera refusing camgate's password gets
 * "Wrong password" with a live countdown to the next try and the config key to fix (not "CAMERA OFFLINE"
 * and "?" fields); a camera that stops answering gets "Camera offline" with the reason; badges read as words.
 */
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect } from "vitest";
import { launchChromium, locateChromium } from "../helpers/browser.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { waitFor } from "../helpers/http.ts";
import { itWithTool } from "../helpers/system-tools.ts";

const ARTIFACTS = resolve(import.meta.dirname, "../../test-artifacts/ui");

describe("web UI health messages", () => {
  let gw: TestGateway;
  let chromium: { browser: Browser; close(): Promise<void> } | undefined;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    gw = await startTestGateway({
      cameras: [
        { id: "dogs", profile: "amcrest-ip2m-841b" },
        { id: "garage", profile: "dahua-2024", config: { password: "not-the-password" } },
      ],
      // As camgate runs by default: the event stream is what notices a camera that stops answering (the
      // live players' RTSP sessions are streams of their own, judged apart from the camera's health).
      events: { enabled: true, heartbeatSeconds: 1 },
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
    "a refused password: what happened, a live countdown, the key to fix; no ? fields",
    async () => {
      if (!chromium) throw new Error("no browser");
      const page = await (
        await chromium.browser.newContext({ viewport: { width: 1280, height: 860 } })
      ).newPage();
      await page.goto(`${gw.url}/camera/garage`);
      const notice = page.locator('[data-health="auth-failed"]');
      await notice.waitFor({ timeout: 15_000 });
      const text = (await notice.textContent()) ?? "";
      expect(text).toContain("Wrong password.");
      expect(text).toContain("so the camera does not lock you out");
      expect(text).toContain("cameras.garage.password");
      const first = (await notice.locator(".countdown").textContent()) ?? "";
      expect(first).toMatch(/^(\d+ min \d\d s|\d+ s)$/);
      // Live: the countdown moves without a reload.
      await waitFor(
        async () => ((await notice.locator(".countdown").textContent()) !== first ? true : undefined),
        5000,
        "the countdown to tick",
      );
      const body = (await page.locator("main, body").first().textContent()) ?? "";
      expect(body).not.toContain("?");
      expect(body).toContain("Model, firmware and serial show once camgate can reach the camera");
      await page.screenshot({ path: join(ARTIFACTS, "health-wrong-password.png"), fullPage: true });
      await page.goto(gw.url);
      await expect(page.locator('[data-camera="garage"] .badge').textContent()).resolves.toBe(
        "wrong password",
      );
    },
  );

  itWithTool(
    "chromium",
    locateChromium,
    "a camera that stops answering: Camera offline, with the reason",
    async () => {
      if (!chromium) throw new Error("no browser");
      const page = await (
        await chromium.browser.newContext({ viewport: { width: 1280, height: 860 } })
      ).newPage();
      await page.goto(`${gw.url}/camera/dogs`);
      await page.locator(".device").waitFor();
      await gw.cameras.get("dogs")?.control.stopListening();
      try {
        const notice = page.locator('[data-health="offline"]');
        await notice.waitFor({ timeout: 30_000 });
        expect(await notice.textContent()).toMatch(/Camera offline: camera dogs: .+\. camgate keeps trying/);
        await page.screenshot({ path: join(ARTIFACTS, "health-offline.png"), fullPage: true });
      } finally {
        await gw.cameras.get("dogs")?.control.startListening();
      }
      await page.locator('[data-health="offline"]').waitFor({ state: "detached", timeout: 30_000 });
    },
  );
});
