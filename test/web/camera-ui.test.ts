/**
 * The camera's own web UI through camgate, in Chromium: signed in to camgate, an admin opens the camera's
 * passthrough origin, the camera's page logs in over RPC2 (to camgate's challenge) and renames the camera;
 * a viewer's rename is refused by camgate and the camera keeps its name. No answer carries the camera's
 * password.
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect } from "vitest";
import { launchChromium, locateChromium, signIn } from "../helpers/browser.ts";
import { CAMERA_PASSWORD, startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { freePort } from "../helpers/http.ts";
import { itWithTool } from "../helpers/system-tools.ts";

describe("the camera's own web UI behind camgate", () => {
  let gw: TestGateway;
  let port: number;
  let chromium: { browser: Browser; close(): Promise<void> } | undefined;

  beforeAll(async () => {
    port = await freePort();
    gw = await startTestGateway({
      cameras: [{ id: "den", profile: "amcrest-ip2m-841b", config: { passthroughPort: port } }],
      users: [
        { name: "alice", role: "admin", password: "alice-cam-pw" },
        { name: "victor", role: "viewer", password: "victor-cam-pw" },
      ],
    });
    if (locateChromium()) chromium = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await chromium?.close();
    await gw?.close();
  });

  /** Signed in to camgate's UI, then on the camera's origin, its page logged in with the same user. */
  async function cameraPage(user: string, password: string): Promise<{ page: Page; answers: string[] }> {
    if (!chromium) throw new Error("no browser");
    const page = await (
      await chromium.browser.newContext({ viewport: { width: 1024, height: 700 } })
    ).newPage();
    const answers: string[] = [];
    page.on(
      "response",
      (response) =>
        void response.text().then(
          (text) => answers.push(text),
          () => undefined,
        ),
    );
    await signIn(page, gw.url, user, password);
    const opened = await page.goto(`http://127.0.0.1:${port}/`);
    expect(opened?.status()).toBe(200);
    const policy = opened?.headers()["content-security-policy"] ?? "";
    expect(policy).toContain("script-src 'self'");
    expect(policy).not.toContain("sandbox");
    await page.getByLabel("Username").fill(user);
    await page.getByLabel("Password").fill(password);
    await page.getByRole("button", { name: "Login" }).click();
    await page.getByTestId("device-name").filter({ hasText: /\S/ }).waitFor();
    return { page, answers };
  }

  itWithTool(
    "chromium",
    locateChromium,
    "an admin renames the camera from the camera's own page",
    async () => {
      const { page, answers } = await cameraPage("alice", "alice-cam-pw");
      expect(await page.getByTestId("device-name").textContent()).toBe(
        gw.cameras.get("den")?.camera.machineName(),
      );
      await page.getByLabel("New device name").fill("Porch");
      await page.getByRole("button", { name: "Save" }).click();
      await page.getByTestId("status").filter({ hasText: "Saved" }).waitFor();
      expect(gw.cameras.get("den")?.camera.machineName()).toBe("Porch");
      await page.getByTestId("device-name").filter({ hasText: "Porch" }).waitFor();
      expect(answers.length).toBeGreaterThan(3);
      for (const text of answers) expect(text).not.toContain(CAMERA_PASSWORD);
    },
  );

  itWithTool(
    "chromium",
    locateChromium,
    "a viewer reads the name, and camgate refuses the rename",
    async () => {
      const { page, answers } = await cameraPage("victor", "victor-cam-pw");
      const before = gw.cameras.get("den")?.camera.machineName();
      await page.getByLabel("New device name").fill("Hijacked");
      await page.getByRole("button", { name: "Save" }).click();
      await page.getByTestId("status").filter({ hasText: "needs the admin role" }).waitFor();
      expect(gw.cameras.get("den")?.camera.machineName()).toBe(before);
      for (const text of answers) expect(text).not.toContain(CAMERA_PASSWORD);
    },
  );
});
