/** A real browser shows the gateway's MJPEG stream in an <img> tag: the right size, and a moving picture. */
import { afterAll, beforeAll, describe, expect } from "vitest";
import { type ImageSize, launchChromium, locateChromium } from "../helpers/browser.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { waitFor } from "../helpers/http.ts";
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
        // A page of the gateway's own origin (the web UI's, whose policy allows its own images).
        await page.goto(`${gw.url}/`);
        await page.setContent(`<img id="live" src="${gw.url}/api/v1/cameras/dogs/stream.mjpeg">`);
        const size = await waitFor(
          async () => {
            const [width, height] = await page.locator("#live").evaluate((img) => {
              const image = img as unknown as ImageSize;
              return [image.naturalWidth, image.naturalHeight];
            });
            return width ? [width, height] : undefined;
          },
          15_000,
          "the picture",
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
