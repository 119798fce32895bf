/**
 * Config's Camera history tab in Debian's Chromium, for an admin: every version clickable with what it
 * changed, a version restored to the camera (its plan shown first, then applied: the emulated camera's config
 * holds the old value again), and a provisioning template planned and applied. Screenshots go to
 * test-artifacts/ui/ (git-ignored).
 */
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect } from "vitest";
import { launchChromium, locateChromium, signIn } from "../helpers/browser.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { itWithTool } from "../helpers/system-tools.ts";

const ARTIFACTS = resolve(import.meta.dirname, "../../test-artifacts/ui");

describe("camera history", () => {
  let gw: TestGateway;
  let chromium: { browser: Browser; close(): Promise<void> } | undefined;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    gw = await startTestGateway({
      cameras: [{ id: "dogs", profile: "amcrest-ip2m-841b" }],
      users: [{ name: "alice", role: "admin", password: "alice-history-pw" }],
      backup: { enabled: true, intervalHours: 0 },
    });
    if (locateChromium()) chromium = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await chromium?.close();
    await gw?.close();
  });

  const control = () => {
    const camera = gw.cameras.get("dogs");
    if (!camera) throw new Error("no camera");
    return camera.control;
  };

  async function historyPage(): Promise<Page> {
    if (!chromium) throw new Error("no browser");
    const page = await (
      await chromium.browser.newContext({ viewport: { width: 1280, height: 860 } })
    ).newPage();
    await signIn(page, gw.url, "alice", "alice-history-pw");
    await page.getByRole("link", { name: "Config", exact: true }).click();
    await page
      .getByRole("navigation", { name: "Config" })
      .getByRole("link", { name: "Camera history" })
      .click();
    await page.getByRole("heading", { name: "Camera history" }).waitFor();
    return page;
  }

  itWithTool(
    "chromium",
    locateChromium,
    "an older version shows what it changed and is restored to the camera after its plan is shown",
    async () => {
      const service = gw.camgate.backups.service;
      await service.runOne("dogs");
      control().setConfig("NTP.Address", "first.example.org");
      const first = (await service.runOne("dogs")).commit;
      control().setConfig("NTP.Address", "second.example.org");
      await service.runOne("dogs");
      if (!first) throw new Error("no version");

      const page = await historyPage();
      await page.locator(".versions li").nth(2).waitFor();
      await page.locator(`button[data-commit="${first}"]`).click();
      await page.getByRole("heading", { name: `What ${first.slice(0, 8)} changed` }).waitFor();
      // The diff of the version clicked (never the one shown before it).
      await page
        .locator('tr[data-path="NTP.Address"] .new')
        .filter({ hasText: "first.example.org" })
        .waitFor();
      expect(await page.locator("table.diff tbody tr").count()).toBe(1);

      await page.getByRole("button", { name: "Restore this version…" }).click();
      await page
        .getByTestId("restore-plan")
        .filter({ hasText: "NTP.Address: second.example.org → first.example.org" })
        .waitFor();
      // Nothing is sent before the plan is accepted.
      expect(control().config("NTP.Address")).toBe("second.example.org");
      await page.screenshot({ path: join(ARTIFACTS, "camera-history-restore.png"), fullPage: true });
      await page.getByRole("button", { name: "Apply the restore to the camera" }).click();
      await page.getByRole("status").filter({ hasText: "Restored" }).waitFor({ timeout: 15_000 });
      expect(control().config("NTP.Address")).toBe("first.example.org");
      await page.context().close();
    },
    60_000,
  );

  itWithTool(
    "chromium",
    locateChromium,
    "a provisioning template is planned, then applied to the camera",
    async () => {
      control().setConfig("NTP.TimeZone", 0);
      const page = await historyPage();
      await page.getByLabel(/Template/).fill("NTP.TimeZone: 13");
      await page.getByRole("button", { name: "Plan" }).click();
      await page.locator(".plan").filter({ hasText: "NTP.TimeZone: 0 → 13" }).waitFor();
      expect(control().config("NTP.TimeZone")).toBe(0);
      await page.getByRole("button", { name: "Apply the plan" }).click();
      await page
        .getByTestId("apply-result")
        .filter({ hasText: "NTP.TimeZone: applied" })
        .waitFor({ timeout: 15_000 });
      expect(control().config("NTP.TimeZone")).toBe(13);
      await page.screenshot({ path: join(ARTIFACTS, "camera-history-provision.png"), fullPage: true });
      await page.context().close();
    },
    60_000,
  );
});
