/** magicBox.cgi, global.cgi and log.cgi of the emulated camera (reference §2.1, §2.3, §2.9). */
import type { KvEntry } from "../protocol/kv.ts";
import { type CameraHandler, intParam, replyKv, replyOk, replyUnsupported } from "./cgi-request.ts";
import { wallClock } from "./event-hub.ts";

export const handleMagicBox: CameraHandler = (camera, { res, action }) => {
  const { profile } = camera;
  const style = profile.errorStyle;
  switch (action) {
    case "getDeviceType":
      return replyKv(res, [["type", profile.deviceType]]);
    case "getSoftwareVersion":
      return replyKv(res, [["version", profile.softwareVersion]]);
    case "getHardwareVersion":
      return replyKv(res, [["version", profile.hardwareVersion]]);
    case "getSerialNo":
      return replyKv(res, [["sn", camera.serial]]);
    case "getMachineName":
      return replyKv(res, [["name", camera.machineName()]]);
    case "getVendor":
      // Missing on some old firmware (aiodahua README): answered like any unknown action.
      return profile.vendor === undefined
        ? replyUnsupported(res, style)
        : replyKv(res, [["vendor", profile.vendor]]);
    case "getSystemInfo":
      // Alphabetical order, as rroller's capture of an IPC-HDW5831R-ZE shows.
      return replyKv(res, [
        ["appAutoStart", "true"],
        ["deviceType", profile.deviceType],
        ["hardwareVersion", profile.hardwareVersion],
        ["processor", profile.processor],
        ["serialNumber", camera.serial],
        ["updateSerial", profile.updateSerial],
      ]);
    case "getUpTime": {
      // [INFERRED] Some firmware answers getUpTime with seconds since boot; the emulator offers it so a
      // reboot is visible as a smaller uptime.
      const up = Math.floor((Date.now() - camera.bootedAt) / 1000);
      return replyKv(res, [
        ["up", String(up)],
        ["total", String(up)],
      ]);
    }
    case "reboot":
      replyOk(res);
      // The device answers, then drops off the network (~40 s on an NVR; shorter here).
      res.once("finish", () => void camera.reboot());
      return;
    default:
      return replyUnsupported(res, style);
  }
};

/** `2011-7-3 21:02:32` (spec example) or zero-padded; both are accepted. */
function parseCameraTime(text: string): Date | undefined {
  const match = /^(\d{4})-(\d{1,2})-(\d{1,2})[ T](\d{1,2}):(\d{1,2}):(\d{1,2})$/.exec(text.trim());
  if (!match) return undefined;
  const [, y, mo, d, h, mi, s] = match.map(Number) as number[];
  const time = new Date(Date.UTC(y as number, (mo as number) - 1, d, h, mi, s));
  return Number.isNaN(time.getTime()) ? undefined : time;
}

export const handleGlobal: CameraHandler = (camera, { res, action, params }) => {
  if (action === "getCurrentTime") return replyKv(res, [["result", wallClock(camera.cameraTime())]]);
  if (action === "setCurrentTime") {
    const time = parseCameraTime(params.get("time") ?? "");
    if (!time) return replyUnsupported(res, camera.profile.errorStyle);
    camera.setCameraTime(time);
    camera.addLog("TimeChange", camera.username, { Time: wallClock(time) });
    return replyOk(res);
  }
  return replyUnsupported(res, camera.profile.errorStyle);
};

export const handleLog: CameraHandler = (camera, { res, action, params }) => {
  const style = camera.profile.errorStyle;
  switch (action) {
    case "startFind": {
      const token = camera.log.startFind(params.get("condition.StartTime"), params.get("condition.EndTime"));
      return replyKv(res, [["token", String(token)]]);
    }
    case "doFind": {
      const page = camera.log.doFind(intParam(params, "token", -1), intParam(params, "count", 100));
      if (!page) return replyUnsupported(res, style);
      const entries: KvEntry[] = [["found", String(page.length)]];
      page.forEach((entry, i) => {
        const item: [string, string][] = [
          ...Object.entries(entry.detail).map(([k, v]): [string, string] => [`Detail.${k}`, v]),
          ["Level", String(entry.level)],
          ["Time", entry.time],
          ["Type", entry.type],
          ["User", entry.user],
        ];
        item.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
        for (const [key, value] of item) entries.push([`items[${i}].${key}`, value]);
      });
      return replyKv(res, entries);
    }
    case "stopFind":
      return camera.log.stopFind(intParam(params, "token", -1)) ? replyOk(res) : replyUnsupported(res, style);
    default:
      return replyUnsupported(res, style);
  }
};
