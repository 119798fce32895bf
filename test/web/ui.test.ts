/**
 * The web UI in a real browser (Debian chromium via playwright-core) against the gateway and emulated
 * cameras. Screenshots of every view at desktop and phone width go to test-artifacts/ui/ (git-ignored).
 */
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect } from "vitest";
import { launchChromium, locateChromium, signIn } from "../helpers/browser.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { waitFor } from "../helpers/http.ts";
import { itWithTool } from "../helpers/system-tools.ts";

const ARTIFACTS = resolve(import.meta.dirname, "../../test-artifacts/ui");
const SIZES = { desktop: { width: 1280, height: 860 }, phone: { width: 375, height: 760 } } as const;

describe("web UI", () => {
  let gw: TestGateway;
  let chromium: { browser: Browser; close(): Promise<void> } | undefined;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    gw = await startTestGateway({
      cameras: [
        { id: "dogs", profile: "amcrest-ip2m-841b" },
        { id: "front", profile: "amcrest-ipm-723w" },
        // A camera reached by ONVIF: no MJPEG, so its tile is its snapshot, taken again.
        { id: "drive", profile: "amcrest-ipm-723w", config: { protocol: "onvif" } },
      ],
      users: [
        { name: "alice", role: "admin", password: "alice-ui-pw" },
        { name: "victor", role: "viewer", password: "victor-ui-pw" },
      ],
      events: { enabled: true, heartbeatSeconds: 2 },
      backup: { enabled: true, intervalHours: 0 },
    });
    if (locateChromium()) chromium = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await chromium?.close();
    await gw?.close();
  });

  async function signedIn(
    user: string,
    password: string,
    size: keyof typeof SIZES = "desktop",
  ): Promise<Page> {
    if (!chromium) throw new Error("no browser");
    const context = await chromium.browser.newContext({ viewport: SIZES[size] });
    const page = await context.newPage();
    await signIn(page, gw.url, user, password);
    return page;
  }

  async function shoot(page: Page, name: string): Promise<void> {
    for (const [size, viewport] of Object.entries(SIZES)) {
      await page.setViewportSize(viewport);
      await page.screenshot({ path: join(ARTIFACTS, `${name}-${size}.png`), fullPage: true });
    }
    await page.setViewportSize(SIZES.desktop);
  }

  itWithTool(
    "chromium",
    locateChromium,
    "sign-in: wrong credentials fail with a message, right ones succeed",
    async () => {
      if (!chromium) throw new Error("no browser");
      const page = await (await chromium.browser.newContext({ viewport: SIZES.desktop })).newPage();
      await page.goto(gw.url);
      await page.getByLabel("User name").fill("alice");
      await page.getByLabel("Password or token").fill("wrong");
      await page.getByRole("button", { name: "Sign in" }).click();
      await expect(page.getByRole("alert").textContent()).resolves.toContain("Wrong user name or password");
      await shoot(page, "signin");
      await page.getByLabel("Password or token").fill("alice-ui-pw");
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.getByRole("heading", { name: "Cameras" }).waitFor();
      const cookies = await page.context().cookies();
      expect(cookies.find((c) => c.name === "camgate_session")).toMatchObject({
        httpOnly: true,
        sameSite: "Strict",
      });
      await page.context().close();
    },
    60_000,
  );

  itWithTool(
    "chromium",
    locateChromium,
    "the wall shows every camera, the ONVIF one too, with a moving picture",
    async () => {
      const page = await signedIn("alice", "alice-ui-pw");
      for (const id of ["dogs", "front", "drive"])
        await page.locator(`[data-camera="${id}"] video`).waitFor();
      for (const id of ["dogs", "drive"]) {
        const tile = page.locator(`[data-camera="${id}"] video[data-state="playing"]`);
        await tile.waitFor({ timeout: 20_000 });
        const first = await tile.screenshot();
        await waitFor(
          async () => (!(await tile.screenshot()).equals(first) ? true : undefined),
          15_000,
          `${id}'s tile picture to change`,
        );
      }
      await shoot(page, "grid");
      await page.context().close();
    },
    60_000,
  );

  itWithTool(
    "chromium",
    locateChromium,
    "holding a PTZ button moves the camera, releasing stops it; the camera view shows device info",
    async () => {
      const page = await signedIn("alice", "alice-ui-pw");
      await page.locator('[data-camera="dogs"] .caption a').click();
      await page.getByRole("heading", { name: /dogs/ }).waitFor();
      await page.getByText("IP2M-841B").waitFor();
      const control = gw.cameras.get("dogs")?.control;
      if (!control) throw new Error("no camera");
      const right = page.locator('button[data-direction="right"]');
      await right.waitFor();
      const start = control.ptzPosition().pan;
      const box = await right.boundingBox();
      if (!box) throw new Error("no button box");
      await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
      await page.mouse.down();
      await waitFor(
        () => (control.ptzPosition().pan > start + 2 ? true : undefined),
        10_000,
        "the camera to pan while held",
      );
      await page.mouse.up();
      await waitFor(
        () => (!control.camera.ptz.isMoving() ? true : undefined),
        10_000,
        "the camera to stop on release",
      );
      const stopped = control.ptzPosition().pan;
      expect(control.ptzPosition().pan).toBe(stopped);
      await shoot(page, "camera");
      await page.context().close();
    },
    60_000,
  );

  itWithTool(
    "chromium",
    locateChromium,
    "an event triggered on the camera appears in the timeline without a reload",
    async () => {
      const page = await signedIn("alice", "alice-ui-pw");
      await page.getByRole("link", { name: "Events", exact: true }).click();
      await page.getByRole("heading", { name: "Events" }).waitFor();
      await waitFor(
        () => (gw.camgate.events.sources.streams.get("front")?.current === "live" ? true : undefined),
        10_000,
        "the event stream",
      );
      gw.cameras.get("front")?.control.trigger("CrossLineDetection", "Pulse");
      await page.locator('.timeline li[data-code="CrossLineDetection"]').waitFor({ timeout: 15_000 });
      gw.cameras.get("dogs")?.control.trigger("VideoMotion", "Start");
      const motion = page.locator('.timeline li[data-code="VideoMotion"]').first();
      await motion.locator("img.thumb").waitFor({ timeout: 15_000 });
      await expect(motion.locator(".duration").textContent()).resolves.toBe("ongoing");
      gw.cameras.get("dogs")?.control.trigger("VideoMotion", "Stop");
      // Start and stop are one incident: the row gets its duration, no second row appears.
      await waitFor(
        async () =>
          /^\d+ (ms|s)$/.test((await motion.locator(".duration").textContent()) ?? "") ? true : undefined,
        15_000,
        "the incident's duration",
      );
      expect(await page.locator('.timeline li[data-code="VideoMotion"]').count()).toBe(1);
      await expect(motion.locator(".sources .tag").allTextContents()).resolves.toEqual(["event stream"]);
      await expect(motion.locator(".incident-tags [data-kind]").allTextContents()).resolves.toEqual([
        "Camera's motion",
      ]);
      await shoot(page, "events");
      await page.context().close();
    },
    60_000,
  );

  itWithTool(
    "chromium",
    locateChromium,
    "the timeline filters on the server and pages back through everything stored",
    async () => {
      for (let n = 0; n < 70; n++)
        await gw.camgate.events.bus.publish({
          camera: "front",
          source: "gateway",
          code: "CameraRebooted",
          action: "pulse",
          channel: 0,
          data: { n },
          cameraTime: null,
        });
      const page = await signedIn("alice", "alice-ui-pw");
      await page.getByRole("link", { name: "Events", exact: true }).click();
      await page.getByLabel("Code").selectOption("CameraRebooted");
      const rows = page.locator('.timeline li[data-code="CameraRebooted"]');
      await waitFor(async () => ((await rows.count()) === 50 ? true : undefined), 10_000, "the first page");
      expect(await page.locator(".timeline li").count()).toBe(50);
      await page.getByRole("button", { name: "Older" }).click();
      await waitFor(async () => ((await rows.count()) === 70 ? true : undefined), 10_000, "the older page");
      expect(await page.getByRole("button", { name: "Older" }).count()).toBe(0);
      await page.context().close();
    },
    60_000,
  );

  itWithTool(
    "chromium",
    locateChromium,
    "after a config change and a backup, the diff view shows the changed path",
    async () => {
      await gw.camgate.backups.service.runOne("dogs");
      gw.cameras.get("dogs")?.control.setConfig("NTP.Address", "ui.example.org");
      const page = await signedIn("alice", "alice-ui-pw");
      await page.getByRole("link", { name: "Config", exact: true }).click();
      await page.getByRole("link", { name: "Camera history" }).click();
      await page.getByRole("heading", { name: "Camera history" }).waitFor();
      await page.getByRole("button", { name: "Back up now" }).click();
      await page.getByRole("status").filter({ hasText: "a new version" }).waitFor({ timeout: 15_000 });
      const row = page.locator('tr[data-path="NTP.Address"]');
      await row.waitFor();
      await expect(row.locator(".new").textContent()).resolves.toBe("ui.example.org");
      await page.getByLabel(/Template/).fill("NTP.Enable: true");
      await page.getByRole("button", { name: "Plan" }).click();
      await page.locator(".plan").filter({ hasText: "NTP.Enable: false → true" }).waitFor();
      await shoot(page, "config");
      await page.getByRole("link", { name: "Health", exact: true }).click();
      await page.getByRole("heading", { name: "Health" }).waitFor();
      await page.getByRole("cell", { name: "dogs" }).first().waitFor();
      await shoot(page, "health");
      await page.context().close();
    },
    60_000,
  );

  itWithTool(
    "chromium",
    locateChromium,
    "a viewer sees no PTZ pad and no admin controls; the API refuses anyway",
    async () => {
      const page = await signedIn("victor", "victor-ui-pw", "phone");
      await page.goto(`${gw.url}/camera/dogs`);
      await page.getByText("IP2M-841B").waitFor();
      expect(await page.locator(".pad").count()).toBe(0);
      await page.goto(`${gw.url}/config`);
      await page.getByRole("heading", { name: "Camera history" }).waitFor();
      expect(await page.getByRole("button", { name: "Back up now" }).count()).toBe(0);
      expect(
        await page.getByRole("navigation", { name: "Config" }).getByRole("link", { name: "camgate" }).count(),
      ).toBe(0);
      const status = await page.evaluate(() =>
        fetch("/api/v1/cameras/dogs/ptz", {
          method: "POST",
          headers: { "Content-Type": "application/json", "X-Camgate-Csrf": "1" },
          body: JSON.stringify({ action: "stop" }),
        }).then((r) => r.status),
      );
      expect(status).toBe(403);
      const noCsrf = await page.evaluate(() =>
        fetch("/api/v1/session", { method: "DELETE" }).then((r) => r.status),
      );
      expect(noCsrf).toBe(204);
      await page.screenshot({ path: join(ARTIFACTS, "camera-viewer-phone.png"), fullPage: true });
      await page.context().close();
    },
    60_000,
  );
});
