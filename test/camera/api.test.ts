/** The typed camera API against the emulator profiles. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CameraApi } from "../../src/camera/api.ts";
import { CameraError } from "../../src/camera/errors.ts";
import { searchLogs } from "../../src/camera/log-search.ts";
import { CameraSession } from "../../src/camera/session.ts";
import { type ProfileName, type RunningEmulator, startEmulator } from "../../src/emulator/index.ts";
import { buildTarget, encodeDeviceValue } from "../../src/protocol/cgi-target.ts";

const PASSWORD = "secret";

describe("CameraApi", () => {
  const emulators = new Map<ProfileName, RunningEmulator>();
  const apis = new Map<ProfileName, CameraApi>();
  beforeAll(async () => {
    for (const profile of [
      "amcrest-ip2m-841b",
      "amcrest-ipm-723w",
      "dahua-2024",
      "legacy-2014",
      "nvr-strict-nonce",
    ] as const) {
      const emulator = await startEmulator({ profile, password: PASSWORD });
      emulators.set(profile, emulator);
      const url = emulator.cameras[0]?.url ?? "";
      apis.set(
        profile,
        new CameraApi(new CameraSession({ id: profile, url, username: "admin", password: PASSWORD })),
      );
    }
  });
  afterAll(async () => {
    await Promise.all([...apis.values()].map((api) => api.session.close()));
    await Promise.all([...emulators.values()].map((e) => e.close()));
  });
  const api = (profile: ProfileName = "amcrest-ip2m-841b") => apis.get(profile) as CameraApi;
  const control = (profile: ProfileName = "amcrest-ip2m-841b") => {
    const camera = emulators.get(profile)?.cameras[0];
    if (!camera) throw new Error("no camera");
    return camera.control;
  };

  it.each([
    ["amcrest-ip2m-841b", "IP2M-841B", "2.520.AC00.18.R", "2017-06-29", "Amcrest"],
    ["amcrest-ipm-723w", "IPM-723W", "2.400.AC02.15.R", "2017-07-31", "Amcrest"],
    ["dahua-2024", "IPC-HDW5831R-ZE", "3.142.0000000.2.R", "2024-03-20", "Dahua"],
    ["legacy-2014", "IPC-HFW4300S-V2", "2.420.0001.0.R", "2014-08-20", undefined],
    ["nvr-strict-nonce", "DHI-NVR5464-4KS2", "4.000.0000000.3.R", "2020-05-21", "Dahua"],
  ] as const)(
    "%s: device info (a missing getVendor is not an error)",
    async (profile, type, version, build, vendor) => {
      const info = await api(profile).deviceInfo();
      expect(info).toMatchObject({ type, softwareVersion: version, build, vendor });
      expect(info.serial).toBe(emulators.get(profile)?.cameras[0]?.serial);
    },
  );

  it("reads config trees and sets values with spaces intact, verifying OK", async () => {
    const general = await api().getConfig("General");
    expect(general).toMatchObject({ LockLoginTimes: 5, MachineName: "AMC00056_24AAF8" });
    expect(await api().getConfig("Encode[0].ExtraFormat[0].Video.Compression")).toBe("MJPG");
    await api().setConfig({
      "General.MachineName": "Dog crates",
      "Snap[0].TimeSection[0][0]": "1 12:00:00-18:00:00",
      "NTP.Enable": true,
    });
    expect(control().config("General.MachineName")).toBe("Dog crates");
    expect(control().config("Snap[0].TimeSection[0][0]")).toBe("1 12:00:00-18:00:00");
    expect(await api().getConfig("NTP.Enable")).toBe(true);
  });

  it("sets a config tree as paths", async () => {
    await api("amcrest-ipm-723w").setConfigTree("Encode[0].ExtraFormat[0].Video", {
      FPS: 10,
      Width: 352,
      Height: 240,
    });
    expect(control("amcrest-ipm-723w").config("Encode[0].ExtraFormat[0].Video.FPS")).toBe(10);
    expect(control("amcrest-ipm-723w").config("Encode[0].ExtraFormat[0].Video.Width")).toBe(352);
  });

  it("sends characters the firmware mangles percent-encoded, and refuses '&' with a clear error", async () => {
    expect(encodeDeviceValue("a b#c+d%e=f/g'h")).toBe("a%20b%23c%2Bd%25e%3Df%2Fg%27h");
    expect(() => buildTarget("configManager.cgi", [["General.MachineName", "A&B"]])).toThrow(/'&'/);
    expect(() => buildTarget("configManager.cgi", [["General.MachineName", "a\r\nb"]])).toThrow(/control/);
    // Through the API: a typed CameraError, and nothing reaches the camera.
    const before = control().counters().requests;
    await expect(api().setConfig({ "General.MachineName": "a&b" })).rejects.toMatchObject({
      code: "invalid-argument",
    });
    expect(control().counters().requests).toBe(before);
    await api().setConfig({ "General.MachineName": "50% #1+2=3/4 it's" });
    expect(control().config("General.MachineName")).toBe("50% #1+2=3/4 it's");
  });

  it("turns 400/501 into unsupported and a rejected setConfig into an error, never success", async () => {
    const unsupported = await api()
      .getConfig("Lighting_V2")
      .catch((e: CameraError) => e);
    expect(unsupported).toMatchObject({ code: "unsupported", status: 400 });
    const modern = await api("dahua-2024")
      .getConfig("Lighting_V2")
      .catch((e: CameraError) => e);
    expect(modern).toMatchObject({ code: "unsupported", status: 501 });
    const rejected = await api()
      .setConfig({ "NTP.Enable": "maybe" })
      .catch((e: CameraError) => e);
    expect(rejected).toBeInstanceOf(CameraError);
  });

  it("exports the config as JSON, falling back to getConfig&name=All where Config.backup is missing", async () => {
    const backup = await api().configBackup();
    expect(backup.General).toMatchObject({ MachineName: expect.any(String) });
    const fallback = await api("legacy-2014").configBackup();
    expect(fallback.General).toMatchObject({ LockLoginTimes: 5 });
    expect(fallback.Encode).toEqual((await api("legacy-2014").getConfig("Encode")) as unknown);
  });

  it("gets and sets the camera time", async () => {
    await api("dahua-2024").setTime("2025-01-02 03:04:05");
    expect(await api("dahua-2024").time()).toMatch(/^2025-01-02 03:04:0\d$/);
  });

  it("takes snapshots per channel", async () => {
    const jpeg = await api("nvr-strict-nonce").snapshot(3);
    expect(jpeg.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
    await expect(api("nvr-strict-nonce").snapshot(5)).rejects.toMatchObject({ code: "unsupported" });
  });

  it("reads active event indexes, empty when the camera answers with an error", async () => {
    expect(await api("nvr-strict-nonce").eventIndexes("VideoLoss")).toEqual([]);
    control("nvr-strict-nonce").trigger("VideoLoss", "Start", { index: 2 });
    expect(await api("nvr-strict-nonce").eventIndexes("VideoLoss")).toEqual([2]);
  });

  it("iterates the log page by page and always sends stopFind, even when the consumer stops early", async () => {
    const items = [];
    for await (const item of searchLogs(api(), "2000-01-01 00:00:00", "2100-01-01 00:00:00", { pageSize: 3 }))
      items.push(item);
    expect(items.length).toBeGreaterThan(0);
    expect(items[0]).toMatchObject({
      type: "Login",
      user: "admin",
      detail: { Type: "CGI", Address: "127.0.0.1" },
    });
    for await (const _item of searchLogs(api(), "2000-01-01 00:00:00", "2100-01-01 00:00:00", {
      pageSize: 1,
    }))
      break;
    expect(emulators.get("amcrest-ip2m-841b")?.cameras[0]?.camera.log.openSearches()).toBe(0);
  });

  it("builds stream targets and RTSP URLs without credentials", () => {
    expect(CameraApi.mjpegTarget(1, 1)).toBe("/cgi-bin/mjpg/video.cgi?channel=1&subtype=1");
    expect(CameraApi.rtspUrl("192.168.0.60", 2, 1)).toBe(
      "rtsp://192.168.0.60:554/cam/realmonitor?channel=2&subtype=1",
    );
  });
});
