/**
 * Hold to talk in Chromium: the camera page's button sends the (fake) microphone to camgate, which plays it
 * on the emulated doorbell's speaker as G.711; letting go ends the talk. Chromium's fake capture device
 * plays a beep, so what arrives is not silence.
 */
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect } from "vitest";
import { decodeG711 } from "../../src/media/g711.ts";
import { launchChromium, locateChromium, signIn } from "../helpers/browser.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { waitFor } from "../helpers/http.ts";
import { itWithTool } from "../helpers/system-tools.ts";

describe("the camera page's talk button", () => {
  let gw: TestGateway;
  let browser: Browser | undefined;
  let closeBrowser: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    gw = await startTestGateway({
      cameras: [{ id: "door", profile: "amcrest-ad410" }],
      users: [{ name: "olga", role: "operator", password: "olga-password-5531" }],
    });
    if (locateChromium()) {
      const launched = await launchChromium([
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        "--autoplay-policy=no-user-gesture-required",
      ]);
      browser = launched.browser;
      closeBrowser = launched.close;
    }
  });

  afterAll(async () => {
    await closeBrowser?.();
    await gw?.close();
  });

  itWithTool(
    "chromium",
    locateChromium,
    "plays what the microphone hears on the camera's speaker while the button is held",
    async () => {
      if (!browser) throw new Error("no browser");
      const context = await browser.newContext();
      await context.grantPermissions(["microphone"], { origin: gw.url });
      const page = await context.newPage();
      try {
        await signIn(page, gw.url, "olga", "olga-password-5531");
        // As a doorbell's notification opens it: the button ready, in view and focused.
        await page.goto(`${gw.url}/camera/door?answer=1`);
        const button = page.getByRole("button", { name: "Hold to talk" });
        await button.waitFor();
        await page.getByText("Someone rang: hold the button to answer.").waitFor();
        expect(
          await button.evaluate(
            (el) => el === (el.ownerDocument as unknown as { activeElement: unknown }).activeElement,
          ),
        ).toBe(true);
        // The page fills in around the button (health, model, firmware): press it once it has settled.
        await page.locator("dl.device").waitFor();
        const box = await button.boundingBox();
        if (!box) throw new Error("the button has no box");
        const talks = () => gw.cameras.get("door")?.control.talks() ?? [];
        await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
        await page.mouse.down();
        await page.getByText("Talking…").waitFor();
        expect(await page.getByText("Someone rang: hold the button to answer.").count()).toBe(0);
        // Held until the fake device's beep (it beeps about once a second) has reached the speaker.
        const loudest = () => {
          const bytes = talks().at(-1)?.bytes;
          if (!bytes || bytes.length <= 160) return 0;
          return decodeG711(bytes.subarray(160), "alaw").reduce((max, v) => Math.max(max, Math.abs(v)), 0);
        };
        await waitFor(() => (loudest() > 1000 ? true : undefined), 20_000, "the beep at the speaker");
        await page.mouse.up();
        const talk = await waitFor(
          () => {
            const last = talks().at(-1);
            return last?.endedAt !== undefined ? last : undefined;
          },
          10_000,
          "the talk to end",
        );
        expect(talk.codec).toBe("G.711A");
        expect(talk.bytes.length).toBeGreaterThan(800);
      } finally {
        await context.close();
      }
    },
    60_000,
  );
});
