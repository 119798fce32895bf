/**
 * Headless Chromium from Debian, driven by playwright-core (never `playwright install`: no downloads here).
 * The flags keep Chromium from reaching for the network this machine does not have; playwright gives every
 * launch a fresh, empty profile directory of its own.
 */
import { type Browser, chromium, type Page } from "playwright-core";
import { findTool } from "./system-tools.ts";

export const CHROMIUM = "/usr/bin/chromium";

/**
 * What page code reads of an <img> (the tests compile without the DOM library). Page code runs as functions,
 * never as strings: camgate's pages forbid `unsafe-eval`, and the tests keep to that policy.
 */
export interface ImageSize {
  naturalWidth: number;
  naturalHeight: number;
}

export function locateChromium(): string | undefined {
  return findTool("chromium", [CHROMIUM], ["--version"]);
}

/** `extraArgs`: more flags, e.g. a fake microphone (`--use-fake-device-for-media-stream`). */
export async function launchChromium(
  extraArgs: string[] = [],
): Promise<{ browser: Browser; close(): Promise<void> }> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      // WebRTC on loopback: loopback host candidates, and real addresses instead of mDNS names (whose
      // lookups would go to the multicast group).
      "--allow-loopback-in-peer-connection",
      // Every interface (loopback included), not only the default route's: a page without camera
      // permission otherwise offers the machine's LAN address alone.
      "--force-webrtc-ip-handling-policy=default",
      "--disable-features=WebRtcHideLocalIpsWithMdns",
      ...extraArgs,
    ],
  });
  return {
    browser,
    close: async () => {
      await browser.close();
    },
  };
}

/** Signs in on camgate's page at `url` with the web UI's form, and waits for the camera grid. */
export async function signIn(page: Page, url: string, user: string, password: string): Promise<void> {
  await page.goto(url);
  await page.getByLabel("User name").fill(user);
  await page.getByLabel("Password or token").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Cameras" }).waitFor();
}
