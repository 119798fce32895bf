/** The emulator's CGI surface, answered as each device family answers it. */
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ProfileName, type RunningEmulator, startEmulator } from "../../src/emulator/index.ts";
import { parseKvLines } from "../../src/protocol/kv.ts";
import { digestGet } from "../helpers/digest-client.ts";

const PASSWORD = "secret";

describe("emulator CGI surface", () => {
  const emulators = new Map<ProfileName, RunningEmulator>();
  beforeAll(async () => {
    for (const profile of [
      "amcrest-ip2m-841b",
      "amcrest-ipm-723w",
      "dahua-2024",
      "nvr-strict-nonce",
    ] as const) {
      emulators.set(profile, await startEmulator({ profile, password: PASSWORD }));
    }
  });
  afterAll(async () => {
    await Promise.all([...emulators.values()].map((e) => e.close()));
  });

  const camera = (profile: ProfileName = "amcrest-ip2m-841b") => {
    const handle = emulators.get(profile)?.cameras[0];
    if (!handle) throw new Error(`no ${profile}`);
    return handle;
  };
  const get = async (target: string, profile: ProfileName = "amcrest-ip2m-841b") =>
    (await digestGet(camera(profile).url, target, { password: PASSWORD })).response;

  describe("magicBox.cgi", () => {
    it.each([
      ["getDeviceType", "type=IP2M-841B\r\n"],
      ["getSoftwareVersion", "version=2.520.AC00.18.R,build:2017-06-29\r\n"],
      ["getHardwareVersion", "version=1.00\r\n"],
      ["getSerialNo", "sn=AMC00056485D24AAF8\r\n"],
      ["getMachineName", "name=AMC00056_24AAF8\r\n"],
      ["getVendor", "vendor=Amcrest\r\n"],
    ])("%s answers %j", async (action, body) => {
      const response = await get(`/cgi-bin/magicBox.cgi?action=${action}`);
      expect(response.status).toBe(200);
      expect(response.headers["content-type"]).toBe("text/plain;charset=utf-8");
      expect(response.text).toBe(body);
    });

    it("answers unknown actions and CGIs in the firmware's style: 400 before 2022, 501 in 2024", async () => {
      const old = await get("/cgi-bin/magicBox.cgi?action=getNothing");
      expect([old.status, old.text]).toEqual([400, "Error\r\nBad Request!\r\n"]);
      const missing = await get("/cgi-bin/nothing.cgi?action=x");
      expect([missing.status, missing.text]).toEqual([400, "Error\r\nBad Request!\r\n"]);
      const modern = await get("/cgi-bin/magicBox.cgi?action=getNothing", "dahua-2024");
      expect([modern.status, modern.text]).toEqual([501, "Error\r\nNot Implemented!\r\n"]);
    });
  });

  describe("configManager.cgi and Config.backup", () => {
    it("gets a section, a dotted sub-tree and All, with the table. prefix", async () => {
      const general = await get("/cgi-bin/configManager.cgi?action=getConfig&name=General");
      expect(general.text).toContain("table.General.LockLoginTimes=5\r\n");
      const name = await get("/cgi-bin/configManager.cgi?action=getConfig&name=General.MachineName");
      expect(name.text).toBe("table.General.MachineName=AMC00056_24AAF8\r\n");
      const encode = await get("/cgi-bin/configManager.cgi?action=getConfig&name=Encode");
      expect(encode.text).toContain("table.Encode[0].ExtraFormat[0].Video.Compression=MJPG\r\n");
      const all = await get("/cgi-bin/configManager.cgi?action=getConfig&name=All");
      expect(all.text).toContain("table.Ptz[0].Protocol=DH-SD1\r\n");
      expect(all.text).toContain("table.NTP.Enable=false\r\n");
    });

    it("rejects an unknown name like the firmware", async () => {
      const response = await get(
        "/cgi-bin/configManager.cgi?action=getConfig&name=Lighting_V2",
        "dahua-2024",
      );
      expect([response.status, response.text]).toEqual([501, "Error\r\nNot Implemented!\r\n"]);
    });

    it("sets several pairs without the table. prefix; %20 spaces arrive; empty values change nothing", async () => {
      const set = await get(
        "/cgi-bin/configManager.cgi?action=setConfig&General.MachineName=Front%20Door&NTP.Enable=true&Snap[0].TimeSection[0][0]=1%2012:00:00-18:00:00&NTP.Address=",
        "amcrest-ipm-723w",
      );
      expect(set.text).toBe("OK\r\n");
      const control = camera("amcrest-ipm-723w").control;
      expect(control.config("General.MachineName")).toBe("Front Door");
      expect(control.config("NTP.Enable")).toBe(true);
      expect(control.config("Snap[0].TimeSection[0][0]")).toBe("1 12:00:00-18:00:00");
      expect(control.config("NTP.Address")).toBe("clock.isc.org");
      const name = await get("/cgi-bin/magicBox.cgi?action=getMachineName", "amcrest-ipm-723w");
      expect(name.text).toBe("name=Front Door\r\n");
    });

    it("rejects unknown names and mistyped values, and then changes nothing", async () => {
      const control = camera("amcrest-ipm-723w").control;
      const before = control.config("NTP.UpdatePeriod");
      for (const query of [
        "NTP.UpdatePeriod=20&Nothing.Here=1",
        "NTP.UpdatePeriod=20&NTP.Enable=maybe",
        "NTP.UpdatePeriod=abc",
      ]) {
        const response = await get(
          `/cgi-bin/configManager.cgi?action=setConfig&${query}`,
          "amcrest-ipm-723w",
        );
        expect(response.status).toBe(400);
      }
      expect(control.config("NTP.UpdatePeriod")).toBe(before);
    });

    it("decodes the whole query before splitting, so an encoded & still splits a value (NV4116-HS)", async () => {
      const response = await get(
        "/cgi-bin/configManager.cgi?action=setConfig&ChannelTitle[0].Name=A%26NTP.Port=124",
        "nvr-strict-nonce",
      );
      expect(response.text).toBe("OK\r\n");
      const control = camera("nvr-strict-nonce").control;
      expect(control.config("ChannelTitle[0].Name")).toBe("A");
      expect(control.config("NTP.Port")).toBe(124);
    });

    it("exports the same tree as pretty-printed JSON", async () => {
      const response = await get("/cgi-bin/Config.backup?action=All");
      expect(response.status).toBe(200);
      const tree = JSON.parse(response.text);
      expect(tree.General.MachineName).toBe("AMC00056_24AAF8");
      expect(tree.Email.Password).toBe("mail-secret");
      expect(response.text).toContain('\n   "Email" : {\n');
    });
  });

  describe("global.cgi", () => {
    it("gets and sets the camera time", async () => {
      expect((await get("/cgi-bin/global.cgi?action=getCurrentTime")).text).toMatch(
        /^result=\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\r\n$/,
      );
      expect(
        (await get("/cgi-bin/global.cgi?action=setCurrentTime&time=2016-10-28%2013:48:00", "dahua-2024"))
          .text,
      ).toBe("OK\r\n");
      expect((await get("/cgi-bin/global.cgi?action=getCurrentTime", "dahua-2024")).text).toMatch(
        /^result=2016-10-28 13:48:0\d\r\n$/,
      );
    });
  });

  describe("snapshot.cgi", () => {
    it("returns a JPEG of the main stream size; a bad channel is an error", async () => {
      const response = await get("/cgi-bin/snapshot.cgi?channel=1&type=0");
      expect(response.headers["content-type"]).toBe("image/jpeg");
      const meta = await sharp(response.body).metadata();
      expect([meta.format, meta.width, meta.height]).toEqual(["jpeg", 1920, 1080]);
      expect((await get("/cgi-bin/snapshot.cgi?channel=2")).status).toBe(400);
      const nvr = await get("/cgi-bin/snapshot.cgi?channel=4", "nvr-strict-nonce");
      expect((await sharp(nvr.body).metadata()).width).toBe(1280);
    });
  });

  describe("mjpg/video.cgi", () => {
    it("refuses a stream whose Encode compression is not MJPG", async () => {
      const response = await get("/cgi-bin/mjpg/video.cgi?channel=1&subtype=0");
      expect([response.status, response.text]).toEqual([400, "Error\r\nBad Request!\r\n"]);
    });
  });

  describe("ptz.cgi", () => {
    const status = async () => {
      const body = (await get("/cgi-bin/ptz.cgi?action=getStatus&channel=1")).text;
      return Object.fromEntries(parseKvLines(body));
    };

    it("moves with time and speed while started, and stops on stop", async () => {
      const control = camera().control;
      const start = control.ptzPosition();
      expect(
        (await get("/cgi-bin/ptz.cgi?action=start&channel=1&code=Right&arg1=0&arg2=8&arg3=0")).text,
      ).toBe("OK\r\n");
      expect((await status())["status.MoveStatus"]).toBe("Moving");
      const { waitFor } = await import("../helpers/http.ts");
      await waitFor(
        () => (control.ptzPosition().pan > start.pan + 1 ? true : undefined),
        5000,
        "pan to move",
      );
      expect((await get("/cgi-bin/ptz.cgi?action=stop&channel=1&code=Right&arg1=0&arg2=8&arg3=0")).text).toBe(
        "OK\r\n",
      );
      const stopped = control.ptzPosition();
      const s = await status();
      expect(s["status.MoveStatus"]).toBe("Idle");
      // The firmware's spelling.
      expect(Number(s["status.Postion[0]"])).toBeCloseTo(stopped.pan, 4);
      expect(s["status.Postion[0]"]).toMatch(/^\d+\.\d{6}$/);
    });

    it("stops a motion only with the code that started it, as firmware does; pan and zoom are separate", async () => {
      const control = camera().control;
      const ptz = (query: string) => get(`/cgi-bin/ptz.cgi?channel=1&arg1=0&arg2=4&arg3=0&${query}`);
      expect((await ptz("action=start&code=ZoomTele")).text).toBe("OK\r\n");
      expect((await ptz("action=start&code=Left")).text).toBe("OK\r\n");
      expect(control.ptzMotion()).toEqual({ panning: true, zooming: true });
      // Another known code is answered OK and changes nothing; a missing or unknown one is an error.
      expect((await ptz("action=stop&code=Right")).text).toBe("OK\r\n");
      expect((await ptz("action=stop&code=ZoomWide")).text).toBe("OK\r\n");
      expect(control.ptzMotion()).toEqual({ panning: true, zooming: true });
      expect((await ptz("action=stop")).status).toBe(400);
      expect((await ptz("action=stop&code=undefined")).status).toBe(400);
      expect((await ptz("action=stop&code=ZoomTele")).text).toBe("OK\r\n");
      expect(control.ptzMotion()).toEqual({ panning: true, zooming: false });
      expect((await status())["status.ZoomStatus"]).toBe("Idle");
      expect((await status())["status.MoveStatus"]).toBe("Moving");
      expect((await ptz("action=stop&code=Left")).text).toBe("OK\r\n");
      expect(control.ptzMotion()).toEqual({ panning: false, zooming: false });
    });

    it("keeps presets: empty body when none, set, list, go to, clear", async () => {
      const list = async () => (await get("/cgi-bin/ptz.cgi?action=getPresets&channel=1")).text;
      expect(await list()).toBe("");
      await get("/cgi-bin/ptz.cgi?action=moveAbsolutely&channel=1&arg1=90&arg2=10&arg3=1");
      expect(
        (await get("/cgi-bin/ptz.cgi?action=start&channel=1&code=SetPreset&arg1=0&arg2=2&arg3=0")).text,
      ).toBe("OK\r\n");
      expect((await get("/cgi-bin/ptz.cgi?action=SetPreset&channel=1&arg1=2&arg2=door")).text).toBe("OK\r\n");
      expect(await list()).toBe("presets[0].Index=2\r\npresets[0].Name=door\r\npresets[0].Type=0\r\n");
      await get("/cgi-bin/ptz.cgi?action=moveAbsolutely&channel=1&arg1=200&arg2=0&arg3=1");
      expect(
        (await get("/cgi-bin/ptz.cgi?action=start&channel=1&code=GotoPreset&arg1=0&arg2=2&arg3=0")).text,
      ).toBe("OK\r\n");
      expect(camera().control.ptzPosition().pan).toBe(90);
      expect((await status())["status.PresetID"]).toBe("2");
      expect(
        (await get("/cgi-bin/ptz.cgi?action=start&channel=1&code=GotoPreset&arg1=0&arg2=9&arg3=0")).status,
      ).toBe(400);
      await get("/cgi-bin/ptz.cgi?action=start&channel=1&code=ClearPreset&arg1=0&arg2=2&arg3=0");
      expect(await list()).toBe("");
    });

    it("reports PTZ caps, and a fixed camera says it has none", async () => {
      expect((await get("/cgi-bin/ptz.cgi?action=getCurrentProtocolCaps&channel=1")).text).toContain(
        "caps.Pan=true\r\n",
      );
      const fixed = await get("/cgi-bin/ptz.cgi?action=getCurrentProtocolCaps&channel=1", "amcrest-ipm-723w");
      expect(fixed.text).toBe("caps.AutoFocus=false\r\ncaps.BFFunction.Support=false\r\n");
      expect(
        (await get("/cgi-bin/ptz.cgi?action=start&channel=1&code=Left&arg2=1", "amcrest-ipm-723w")).status,
      ).toBe(400);
    });
  });

  describe("log.cgi", () => {
    it("pages through the log with startFind/doFind/stopFind, logins included", async () => {
      const start = (
        await get(
          "/cgi-bin/log.cgi?action=startFind&condition.StartTime=2000-01-01%2000:00:00&condition.EndTime=2100-01-01%2000:00:00",
        )
      ).text;
      const token = /^token=(\d+)\r\n$/.exec(start)?.[1];
      expect(token).toBeDefined();
      const first = (await get(`/cgi-bin/log.cgi?action=doFind&token=${token}&count=2`)).text;
      expect(first).toMatch(
        /^found=2\r\nitems\[0\]\.Detail\.Address=127\.0\.0\.1\r\nitems\[0\]\.Detail\.Type=CGI\r\nitems\[0\]\.Level=0\r\nitems\[0\]\.Time=\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\r\nitems\[0\]\.Type=Login\r\nitems\[0\]\.User=admin\r\n/,
      );
      let found = 2;
      while (found > 0) {
        found = Number(
          /^found=(\d+)/.exec(
            (await get(`/cgi-bin/log.cgi?action=doFind&token=${token}&count=100`)).text,
          )?.[1],
        );
      }
      expect((await get(`/cgi-bin/log.cgi?action=stopFind&token=${token}`)).text).toBe("OK\r\n");
      expect((await get(`/cgi-bin/log.cgi?action=doFind&token=${token}&count=1`)).status).toBe(400);
    });
  });
});
