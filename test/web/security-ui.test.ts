/**
 * The camera's Security section in Chromium: an admin sees the loose camera's findings, plans the fix of
 * one (the exact key, nothing sent), applies it and sees it gone; the grid carries the findings' badge for
 * admins only; a viewer sees neither. Screenshots go to test-artifacts/ui/ (git-ignored).
 */
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect } from "vitest";
import { type EmulatedCameraHandle, type RunningEmulator, startEmulator } from "../../src/emulator/index.ts";
import { launchChromium, locateChromium, signIn } from "../helpers/browser.ts";
import { CAMERA_PASSWORD, startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { waitFor } from "../helpers/http.ts";
import { itWithTool } from "../helpers/system-tools.ts";

const ARTIFACTS = resolve(import.meta.dirname, "../../test-artifacts/ui");

describe("the Security section", () => {
  let gw: TestGateway;
  let emulator: RunningEmulator;
  let chromium: { browser: Browser; close(): Promise<void> } | undefined;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    emulator = await startEmulator({
      profile: "amcrest-ip2m-841b",
      password: CAMERA_PASSWORD,
      security: "insecure",
      telnetPort: 0,
    });
    const camera = emulator.cameras[0] as EmulatedCameraHandle;
    gw = await startTestGateway({
      emulators: new Map([["den", camera]]),
      cameras: [
        {
          id: "den",
          profile: "amcrest-ip2m-841b",
          config: {
            audit: {
              ports: {
                telnet: camera.camera.telnet?.listeningPort,
                ssh: false,
                dvrip: false,
                https: false,
                rtmp: false,
              },
            },
          },
        },
      ],
      users: [
        { name: "alice", role: "admin", password: "alice-sec-pw" },
        { name: "victor", role: "viewer", password: "victor-sec-pw" },
      ],
      audit: { enabled: true },
    });
    await waitFor(() => gw.camgate.audit?.latest("den"), 20_000, "the first audit");
    if (locateChromium()) chromium = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await chromium?.close();
    await gw?.close();
    await emulator?.close();
  });

  async function signedIn(user: string, password: string, width = 1280): Promise<Page> {
    if (!chromium) throw new Error("no browser");
    const page = await (await chromium.browser.newContext({ viewport: { width, height: 900 } })).newPage();
    await signIn(page, gw.url, user, password);
    return page;
  }

  itWithTool(
    "chromium",
    locateChromium,
    "an admin sees the findings, plans a fix, applies it, and it is gone",
    async () => {
      const page = await signedIn("alice", "alice-sec-pw");
      await page.getByTestId("security-badge").waitFor();
      expect(await page.getByTestId("security-badge").textContent()).toMatch(/\d+ high/);
      await page.goto(`${gw.url}/camera/den`);
      const section = page.getByTestId("security");
      await section.locator('[data-finding="telnet-on"]').waitFor();
      expect(await section.locator('[data-finding="telnet-on"]').textContent()).toContain(
        "Telnet.Enable=true",
      );
      await page.screenshot({ path: join(ARTIFACTS, "security-desktop.png"), fullPage: true });
      await section.locator('[data-finding="telnet-on"]').getByRole("button", { name: "Fix" }).click();
      const plan = page.getByTestId("fix-plan");
      await plan.waitFor();
      expect(await plan.textContent()).toContain("Telnet.Enable");
      // Planned, not sent.
      expect(gw.cameras.get("den")?.camera.configValue("Telnet.Enable")).toBe(true);
      await plan.getByRole("button", { name: "Apply" }).click();
      await section.locator('[data-finding="telnet-on"]').waitFor({ state: "detached" });
      expect(gw.cameras.get("den")?.camera.configValue("Telnet.Enable")).toBe(false);
      // At phone width nothing of the section is wider than the page.
      await page.setViewportSize({ width: 390, height: 800 });
      const overflow = await page.evaluate(() => {
        const view = globalThis as unknown as {
          innerWidth: number;
          document: { documentElement: { scrollWidth: number } };
        };
        return view.document.documentElement.scrollWidth - view.innerWidth;
      });
      expect(overflow).toBeLessThanOrEqual(0);
      await page.screenshot({ path: join(ARTIFACTS, "security-phone.png"), fullPage: true });
    },
  );

  itWithTool("chromium", locateChromium, "a viewer sees no Security section and no badge", async () => {
    const page = await signedIn("victor", "victor-sec-pw");
    await page.getByRole("heading", { name: "Cameras" }).waitFor();
    expect(await page.getByTestId("security-badge").count()).toBe(0);
    await page.goto(`${gw.url}/camera/den`);
    await page.getByRole("heading", { name: "Recent incidents" }).waitFor();
    expect(await page.getByTestId("security").count()).toBe(0);
  });
});
