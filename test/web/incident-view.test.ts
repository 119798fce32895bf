/**
 * A notification's tap, in Debian's Chromium at phone width: the click URL of the ntfy notification opens
 * the incident (after the sign-in), with the camera's picture and the box of the person it saw drawn where
 * the camera said (SMD's 8192-step Rect as fractions of the picture), and the way to the live camera.
 * Screenshot to test-artifacts/ui/ (git-ignored).
 */
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect } from "vitest";
import { launchChromium, locateChromium, signIn } from "../helpers/browser.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { waitFor } from "../helpers/http.ts";
import { PostReceiver } from "../helpers/ntfy-receiver.ts";
import { itWithTool } from "../helpers/system-tools.ts";

const ARTIFACTS = resolve(import.meta.dirname, "../../test-artifacts/ui");

describe("the incident a notification opens", () => {
  let gw: TestGateway;
  let chromium: { browser: Browser; close(): Promise<void> } | undefined;
  const ntfy = new PostReceiver();

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    await ntfy.start();
    gw = await startTestGateway({
      cameras: [
        { id: "yard", profile: "amcrest-ipm-723w", config: { name: "Back yard" } },
        { id: "porch", profile: "amcrest-ip2m-841b", config: { name: "Porch" } },
      ],
      users: [{ name: "alice", role: "viewer", password: "alice-incident-pw" }],
      events: { enabled: true, heartbeatSeconds: 1 },
      notify: [{ name: "phone", url: ntfy.url("/house"), kinds: ["person"] }],
    });
    if (locateChromium()) chromium = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await chromium?.close();
    await gw?.close();
    await ntfy.stop();
  });

  itWithTool(
    "chromium",
    locateChromium,
    "the tap opens the incident with the person's box drawn on its picture",
    async () => {
      if (!chromium) throw new Error("no browser");
      await waitFor(
        () => (gw.camgate.events.sources.streams.get("yard")?.current === "live" ? true : undefined),
        10_000,
        "the event stream",
      );
      // The emulator's SMD person: Rect [1000, 2000, 3000, 4000] on Dahua's 8192-step grid.
      gw.cameras.get("yard")?.control.trigger("SmartMotionHuman", "Start");
      const post = await waitFor(() => ntfy.to("/house")[0], 15_000, "the notification");
      const click = String(post.headers.click);
      expect(click).toMatch(new RegExp(`^${gw.url}/events\\?incident=`));

      const page = await (
        await chromium.browser.newContext({ viewport: { width: 390, height: 844 } })
      ).newPage();
      await signIn(page, gw.url, "alice", "alice-incident-pw");
      await page.goto(click);
      const figure = page.getByTestId("boxed-snapshot");
      await figure.locator("img").waitFor();
      await waitFor(
        async () =>
          (await figure
            .locator("img")
            .evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth)) > 0
            ? true
            : undefined,
        10_000,
        "the picture loaded",
      );
      const box = await figure.locator('rect[data-type="human"]').boundingBox();
      const picture = await figure.locator("img").boundingBox();
      if (!box || !picture) throw new Error("no box or picture");
      // The drawn box's middle and size (its 3 px stroke taken off), as fractions of the picture.
      const stroke = 3;
      expect((box.x + box.width / 2 - picture.x) / picture.width).toBeCloseTo(2000 / 8192, 2);
      expect((box.y + box.height / 2 - picture.y) / picture.height).toBeCloseTo(3000 / 8192, 2);
      expect((box.width - stroke) / picture.width).toBeCloseTo(2000 / 8192, 2);
      expect((box.height - stroke) / picture.height).toBeCloseTo(2000 / 8192, 2);
      await expect(figure.locator("figcaption").textContent()).resolves.toBe("person in Region1");
      await page.getByRole("link", { name: "Live view of Back yard" }).waitFor();
      await page.screenshot({ path: join(ARTIFACTS, "incident-phone.png"), fullPage: true });

      // Evidence of the incident and the porch camera: prepared with its progress, then downloaded.
      const evidence = page.getByTestId("evidence");
      await evidence.locator("summary").click();
      await evidence.getByLabel("Porch").check();
      await evidence.getByRole("button", { name: "Prepare the archive" }).click();
      const link = evidence.getByTestId("evidence-ready").getByRole("link", { name: /^Download \(/ });
      await link.waitFor({ timeout: 30_000 });
      const href = await link.getAttribute("href");
      const zip = await page.evaluate(async (url) => {
        const body = new Uint8Array(await (await fetch(url ?? "")).arrayBuffer());
        return { size: body.length, magic: Array.from(body.subarray(0, 4)) };
      }, href);
      expect(zip.magic).toEqual([0x50, 0x4b, 0x03, 0x04]);
      expect(zip.size).toBeGreaterThan(1000);
      await page.screenshot({ path: join(ARTIFACTS, "incident-evidence-phone.png"), fullPage: true });
      gw.cameras.get("yard")?.control.trigger("SmartMotionHuman", "Stop");
      await page.context().close();
    },
    60_000,
  );
});
