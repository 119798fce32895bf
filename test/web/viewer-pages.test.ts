/**
 * A viewer sees no page or link they may not use. In Debian's Chromium, signed in as a viewer of one of two
 * cameras (backups kept unredacted, so the camera history is admins'): every page the navigation offers is
 * opened, and every link on it to camgate's API is fetched with the viewer's session: none is refused.
 * The navigation has no Config, the wall no second camera, the camera page no PTZ, talk or security
 * controls.
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect } from "vitest";
import { launchChromium, locateChromium, signIn } from "../helpers/browser.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { waitFor } from "../helpers/http.ts";
import { itWithTool } from "../helpers/system-tools.ts";

describe("what a viewer is shown", () => {
  let gw: TestGateway;
  let chromium: { browser: Browser; close(): Promise<void> } | undefined;

  beforeAll(async () => {
    gw = await startTestGateway({
      cameras: [
        { id: "dogs", profile: "amcrest-ip2m-841b" },
        { id: "attic", profile: "amcrest-ipm-723w" },
      ],
      users: [
        { name: "alice", role: "admin", password: "alice-pages-pw" },
        { name: "victor", role: "viewer", password: "victor-pages-pw", cameras: ["dogs"] },
      ],
      events: { enabled: true, heartbeatSeconds: 2 },
      recording: { clips: { enabled: true } },
      backup: { enabled: true, intervalHours: 0, redact: false },
    });
    if (locateChromium()) chromium = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await chromium?.close();
    await gw?.close();
  });

  /** Every link on the page to camgate's API or the camera passthrough, as the page would fetch it. */
  async function apiLinks(page: Page): Promise<string[]> {
    const hrefs = await page
      .locator("a[href]")
      .evaluateAll((links) => links.map((a) => (a as unknown as { href: string }).href));
    return [...new Set(hrefs)].filter((href) => {
      const url = new URL(href);
      return url.origin === new URL(gw.url).origin && /^\/(api|cam)\//.test(url.pathname);
    });
  }

  /** The status of a GET with the page's session (headers only: a stream is not read). */
  function statusOf(page: Page, href: string): Promise<number> {
    return page.evaluate(async (url) => {
      const abort = new AbortController();
      const response = await fetch(url, { signal: abort.signal });
      abort.abort();
      return response.status;
    }, href);
  }

  itWithTool(
    "chromium",
    locateChromium,
    "every page offered opens, and no link on it is refused",
    async () => {
      if (!chromium) throw new Error("no browser");
      // An incident with a clip, so the event and camera pages have their links.
      await waitFor(
        () => (gw.camgate.events.sources.streams.get("dogs")?.current === "live" ? true : undefined),
        10_000,
        "the event stream",
      );
      const control = gw.cameras.get("dogs")?.control;
      control?.trigger("VideoMotion", "Start");
      control?.trigger("VideoMotion", "Stop");

      const page = await (
        await chromium.browser.newContext({ viewport: { width: 1280, height: 860 } })
      ).newPage();
      await signIn(page, gw.url, "victor", "victor-pages-pw");
      const nav = await page
        .getByRole("navigation", { name: "Main" })
        .getByRole("link")
        .evaluateAll((links) => links.map((a) => (a as unknown as { textContent: string }).textContent));
      expect(nav).toEqual(["Cameras", "Events", "Health"]);
      await page.locator('.tile[data-camera="dogs"]').waitFor();
      expect(await page.locator('.tile[data-camera="attic"]').count()).toBe(0);
      await page.goto(`${gw.url}/events`);
      await page.locator("li").filter({ hasText: "VideoMotion" }).first().waitFor({ timeout: 15_000 });

      const checked: string[] = [];
      for (const [path, ready] of [
        ["/", ".tile"],
        ["/camera/dogs", ".device"],
        ["/events", "h1"],
        ["/health", "table.health td"],
      ] as const) {
        await page.goto(`${gw.url}${path}`);
        await page.locator(ready).first().waitFor();
        for (const href of await apiLinks(page)) {
          const status = await statusOf(page, href);
          expect([path, href, status]).toEqual([path, href, expect.toSatisfy((s: number) => s < 400)]);
          checked.push(href);
        }
      }
      // The links were there to check (the camera page's snapshot, streams and clip at least).
      expect(checked.some((href) => href.includes("/snapshot.jpg"))).toBe(true);

      await page.goto(`${gw.url}/camera/dogs`);
      await page.locator(".device").waitFor();
      for (const control of [".pad", ".talk", '[data-testid="security"]'])
        expect(await page.locator(control).count(), control).toBe(0);
      // An address typed by hand shows nothing to use, and the API refuses anyway.
      await page.goto(`${gw.url}/config`);
      await page.getByText("Nothing here you may use.").waitFor();
      expect(await statusOf(page, `${gw.url}/api/v1/backups/dogs`)).toBe(403);
      await page.context().close();
    },
    60_000,
  );
});
