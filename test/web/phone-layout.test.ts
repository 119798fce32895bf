/**
 * The pages owners use on a phone, at 390 px in Chromium: no horizontal scroll, and nothing cut (no element
 * reaching past the screen's edge, a box that scrolls sideways included), asserted from the layout; screenshots kept in
 * test-artifacts/ui/phone-*.png.
 */
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect } from "vitest";
import { launchChromium, locateChromium, signIn } from "../helpers/browser.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { itWithTool } from "../helpers/system-tools.ts";

const ARTIFACTS = resolve(import.meta.dirname, "../../test-artifacts/ui");

describe("the UI on a phone", () => {
  let gw: TestGateway;
  let chromium: { browser: Browser; close(): Promise<void> } | undefined;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    gw = await startTestGateway({
      cameras: [
        { id: "dogs", profile: "amcrest-ip2m-841b" },
        { id: "yard", profile: "dahua-2024" },
      ],
      users: [{ name: "alice", role: "admin", password: "alice-phone-pw" }],
    });
    if (locateChromium()) chromium = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await chromium?.close();
    await gw?.close();
  });

  itWithTool("chromium", locateChromium, "no page scrolls sideways or cuts what it shows", async () => {
    if (!chromium) throw new Error("no browser");
    const page = await (
      await chromium.browser.newContext({ viewport: { width: 390, height: 844 } })
    ).newPage();
    await signIn(page, gw.url, "alice", "alice-phone-pw");
    for (const [name, path, ready] of [
      ["grid", "/", ".tile"],
      ["camera", "/camera/dogs", ".device"],
      ["health", "/health", "table.health td"],
      ["events", "/events", "h1, h2"],
      ["settings", "/settings", ".settings-view"],
    ] as const) {
      await page.goto(`${gw.url}${path}`);
      await page.locator(ready).first().waitFor();
      const layout = await page.evaluate(() => {
        const scope = globalThis as unknown as {
          innerWidth: number;
          document: {
            documentElement: { scrollWidth: number };
            querySelectorAll(s: string): ArrayLike<unknown>;
          };
          getComputedStyle(e: unknown): { visibility: string };
        };
        type Box = {
          getBoundingClientRect(): { right: number; width: number };
          tagName: string;
          className: string;
        };
        const cut: string[] = [];
        for (const element of Array.from(scope.document.querySelectorAll("main *")) as Box[]) {
          const rect = element.getBoundingClientRect();
          if (rect.width === 0 || scope.getComputedStyle(element).visibility === "hidden") continue;
          // Inside a box that scrolls sideways counts too: on a phone that is a table cut at the edge.
          if (rect.right > scope.innerWidth + 1)
            cut.push(`${element.tagName.toLowerCase()}.${element.className} right=${Math.round(rect.right)}`);
        }
        return {
          overflow: scope.document.documentElement.scrollWidth - scope.innerWidth,
          cut: cut.slice(0, 5),
        };
      });
      await page.screenshot({ path: join(ARTIFACTS, `phone-${name}.png`), fullPage: true });
      expect(layout, name).toEqual({ overflow: 0, cut: [] });
    }
  });
});
