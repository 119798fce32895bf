/**
 * The Settings page in Chromium (admins): a camera added with the form (camgate logs in once, then it is in
 * the list and in camgate.yaml), a user added; at phone width nothing is wider than the page. A viewer is
 * not shown the page. (The "Find cameras" button is not pressed here: a search sends multicast on the host's
 * networks; test/lan/discovery.test.ts searches in network namespaces.)
 */
import { execFile } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect } from "vitest";
import { launchChromium, locateChromium, signIn } from "../helpers/browser.ts";
import { type FileGateway, startFileGateway } from "../helpers/file-gateway.ts";
import { CAMERA_PASSWORD } from "../helpers/gateway.ts";
import { itWithTool } from "../helpers/system-tools.ts";

const ARTIFACTS = resolve(import.meta.dirname, "../../test-artifacts/ui");
const BIN = resolve(import.meta.dirname, "../../bin/camgate.js");
const run = promisify(execFile);

describe("the Settings page", () => {
  let gw: FileGateway;
  let chromium: { browser: Browser; close(): Promise<void> } | undefined;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    gw = await startFileGateway();
    if (locateChromium()) chromium = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await chromium?.close();
    await gw?.close();
  });

  async function signedIn(user: string, password: string, width = 1280): Promise<Page> {
    if (!chromium) throw new Error("no browser");
    const page = await (await chromium.browser.newContext({ viewport: { width, height: 900 } })).newPage();
    await signIn(page, gw.camgate.url, user, password);
    return page;
  }

  itWithTool(
    "chromium",
    locateChromium,
    "an admin adds, edits and removes a camera and a user, the file checked and live",
    async () => {
      const page = await signedIn("alice", "alice-settings-pw");
      await page.getByRole("link", { name: "Config", exact: true }).click();
      const cameras = page.locator(".settings-cameras");
      await cameras.locator('[data-camera="yard"]').waitFor();
      await page.getByRole("button", { name: "Add a camera" }).click();
      const form = page.getByRole("form", { name: "Add a camera" });
      await form.getByLabel("Id").fill("porch");
      await form.getByLabel("Name").fill("Porch");
      await form.getByLabel("Address").fill(gw.spare.url);
      await form.getByLabel("Camera user").fill("admin");
      await form.getByLabel("Camera password").fill(CAMERA_PASSWORD);
      await form.getByLabel("RTSP port").fill(String(gw.spare.rtspPort));
      await form.getByRole("button", { name: "Check and add" }).click();
      await cameras.locator('[data-camera="porch"]').waitFor();
      expect(await cameras.locator(".notice").textContent()).toMatch(/^Added porch: Dahua IPC-HDW5831R-ZE/);
      expect(readFileSync(gw.file, "utf8")).toContain(
        "password: ${file:camgate-secrets/camera-porch-password}",
      );
      await page.screenshot({ path: join(ARTIFACTS, "settings.png"), fullPage: true });

      const users = page.locator(".settings-users");
      await page.getByRole("button", { name: "Add a user" }).click();
      const add = page.getByRole("form", { name: "Add a user" });
      await add.getByLabel("Name").fill("olga");
      await add.getByLabel("Role").selectOption("operator");
      await add.getByLabel("Password").fill("olga-ui-password");
      // Only the porch camera.
      await add.getByLabel("All, and those added later").uncheck();
      await add.getByLabel("Porch").check();
      await add.getByRole("button", { name: "Add" }).click();
      await users.locator('[data-user="olga"]').waitFor();
      expect(await page.getByLabel("Role of olga").inputValue()).toBe("operator");
      expect(readFileSync(gw.file, "utf8")).not.toContain("olga-ui-password");
      expect(readFileSync(gw.file, "utf8")).toMatch(
        /name: olga\n\s+role: operator\n\s+password: scrypt:\S+\n\s+cameras:\n\s+- porch\n/,
      );
      expect(await users.locator('[data-user="olga"]').textContent()).toContain("porch");
      // No page shows a password it was given.
      expect(await page.content()).not.toContain(CAMERA_PASSWORD);

      // Live without a restart: the new camera is on the grid.
      await page.getByRole("link", { name: "Cameras" }).click();
      await page.locator('.tile[data-camera="porch"]').waitFor();
      await page.getByRole("link", { name: "Config", exact: true }).click();

      // Edited: a new name and groups, in the file and in camgate; nothing that reaches the camera changed,
      // so no login to check it (the notice has no probe's answer).
      await cameras.locator('[data-camera="porch"]').getByRole("button", { name: "Edit" }).click();
      const edit = page.getByRole("form", { name: "Edit porch" });
      await edit.getByLabel("Name").fill("Front porch");
      await edit.getByLabel("Groups on the wall").fill("Outside, Doors");
      await edit.getByRole("button", { name: "Save" }).click();
      await cameras.getByText("Changed porch").waitFor();
      expect(await cameras.locator(".notice").textContent()).toBe("Changed porch");
      expect(readFileSync(gw.file, "utf8")).toContain("name: Front porch");
      expect(readFileSync(gw.file, "utf8")).toMatch(/groups:\n\s+- Outside\n\s+- Doors\n/);
      expect(await cameras.locator('[data-camera="porch"]').textContent()).toContain("Front porch");
      expect(gw.camgate.cameras.get("porch")?.groups).toEqual(["Outside", "Doors"]);

      // A user's row edited: another role, and every camera instead of one.
      const olgaHash = /name: olga\n\s+role: operator\n\s+password: (scrypt:\S+)/.exec(
        readFileSync(gw.file, "utf8"),
      )?.[1];
      expect(olgaHash).toBeDefined();
      await users.locator('[data-user="olga"]').getByRole("button", { name: "Edit" }).click();
      const editUser = page.getByRole("form", { name: "Edit olga" });
      await editUser.getByLabel("Role").selectOption("viewer");
      await editUser.getByLabel("All, and those added later").check();
      await editUser.getByRole("button", { name: "Save" }).click();
      await users.getByText("olga changed").waitFor();
      expect(await page.getByLabel("Role of olga").inputValue()).toBe("viewer");
      expect(await users.locator('[data-user="olga"]').textContent()).toContain("all");
      // The password was left empty: the hash in the file is the one from before.
      expect(readFileSync(gw.file, "utf8")).toContain(
        `name: olga\n    role: viewer\n    password: ${olgaHash}\n`,
      );
      // The file as the UI left it keeps the owner's comments and passes `camgate config check`.
      const text = readFileSync(gw.file, "utf8");
      for (const comment of [
        "# camgate for the house",
        "dir: ./data # beside this file",
        "  # The yard camera, wired.",
      ])
        expect(text).toContain(comment);
      const check = await run(process.execPath, [BIN, "config", "check", "-c", gw.file], { cwd: gw.dir });
      expect(check.stdout).toMatch(/ok/i);

      // At phone width, nothing is wider than the page.
      await page.setViewportSize({ width: 390, height: 800 });
      const overflow = await page.evaluate(() => {
        const view = globalThis as unknown as {
          innerWidth: number;
          document: { documentElement: { scrollWidth: number } };
        };
        return view.document.documentElement.scrollWidth - view.innerWidth;
      });
      expect(overflow).toBeLessThanOrEqual(0);
      await page.screenshot({ path: join(ARTIFACTS, "settings-phone.png"), fullPage: true });

      // Removed, after the browser's confirmation: the user, then the camera.
      page.on("dialog", (dialog) => void dialog.accept());
      await users.locator('[data-user="olga"]').getByRole("button", { name: "Remove" }).click();
      await users.locator('[data-user="olga"]').waitFor({ state: "detached" });
      await cameras.locator('[data-camera="porch"]').getByRole("button", { name: "Remove" }).click();
      await cameras.locator('[data-camera="porch"]').waitFor({ state: "detached" });
      const after = readFileSync(gw.file, "utf8");
      expect(after).not.toContain("porch");
      expect(after).not.toContain("olga");
      expect(
        (await run(process.execPath, [BIN, "config", "check", "-c", gw.file], { cwd: gw.dir })).stdout,
      ).toMatch(/ok/i);
    },
  );

  itWithTool(
    "chromium",
    locateChromium,
    "a viewer is shown the camera history, not camgate's settings",
    async () => {
      const page = await signedIn("victor", "victor-settings-pw");
      await page.getByRole("link", { name: "Config", exact: true }).click();
      await page.getByRole("heading", { name: "Camera history" }).waitFor();
      expect(
        await page.getByRole("navigation", { name: "Config" }).getByRole("link", { name: "camgate" }).count(),
      ).toBe(0);
      await page.goto(`${gw.camgate.url}/settings`);
      await page.getByRole("heading", { name: "Camera history" }).waitFor();
      expect(await page.locator(".settings-view").count()).toBe(0);
    },
  );
});

describe("the first run, without users", () => {
  let gw: FileGateway;
  let chromium: { browser: Browser; close(): Promise<void> } | undefined;

  beforeAll(async () => {
    gw = await startFileGateway([]);
    if (locateChromium()) chromium = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await chromium?.close();
    await gw?.close();
  });

  itWithTool(
    "chromium",
    locateChromium,
    "says camgate is open and creates the admin, then asks to sign in",
    async () => {
      if (!chromium) throw new Error("no browser");
      const page = await (
        await chromium.browser.newContext({ viewport: { width: 1280, height: 900 } })
      ).newPage();
      await page.goto(gw.camgate.url);
      const banner = page.getByTestId("no-users");
      await banner.waitFor();
      expect(await banner.textContent()).toContain("anyone on this machine can see and change everything");
      await banner.getByRole("link", { name: "Create the admin" }).click();
      const form = page.getByRole("form", { name: "Create the admin" });
      await form.getByLabel("Name").fill("alice");
      await form.getByLabel("Password").fill("alice-first-password");
      await form.getByRole("button", { name: "Create the admin" }).click();
      // Closed: the sign-in form, and the file has its admin (a hash, not the password).
      await page.getByLabel("User name").waitFor();
      const text = readFileSync(gw.file, "utf8");
      expect(text).toMatch(/users:\n {2}- name: alice\n {4}role: admin\n {4}password: scrypt:/);
      expect(text).not.toContain("alice-first-password");
      await page.getByLabel("User name").fill("alice");
      await page.getByLabel("Password or token").fill("alice-first-password");
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.getByRole("link", { name: "Config", exact: true }).waitFor();
      expect(await page.getByTestId("no-users").count()).toBe(0);
    },
  );
});
