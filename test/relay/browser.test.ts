/** A real browser shows the gateway's MJPEG stream in an <img> tag: the right size, and a moving picture. */
import { afterAll, beforeAll, describe, expect } from "vitest";
import { launchChromium, locateChromium } from "../helpers/browser.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { itWithTool } from "../helpers/system-tools.ts";

describe("MJPEG in a browser", () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({ cameras: [{ id: "dogs", profile: "amcrest-ip2m-841b" }] });
  });
  afterAll(async () => {
    await gw?.close();
  });

  itWithTool(
    "chromium",
    locateChromium,
    "headless Chromium shows the stream in an <img>: natural size 640x480, and the picture changes",
    async () => {
      const chromium = await launchChromium();
      try {
        const page = await chromium.browser.newPage();
        // The page comes from the gateway's own origin, so the canvas may read the picture.
        await page.goto(`${gw.url}/healthz`);
        await page.setContent(`<img id="live" src="${gw.url}/api/v1/cameras/dogs/stream.mjpeg">`);
        // Page code as strings: it runs in the browser, not in Node.
        await page.waitForFunction("document.getElementById('live').naturalWidth > 0", undefined, {
          timeout: 15_000,
        });
        const size = await page.evaluate(
          "[document.getElementById('live').naturalWidth, document.getElementById('live').naturalHeight]",
        );
        expect(size).toEqual([640, 480]);
        const first = await page.locator("#live").screenshot();
        let changed = false;
        for (let i = 0; i < 40 && !changed; i++) {
          await new Promise((resolve) => setTimeout(resolve, 100));
          changed = !(await page.locator("#live").screenshot()).equals(first);
        }
        expect(changed).toBe(true);
      } finally {
        await chromium.close();
      }
    },
    60_000,
  );
});
