/**
 * The typed camera API over CameraSession: device info, time, config, snapshot, the ptz.cgi primitive,
 * events, reboot. Every answer is judged by `classifyCgiResponse`, since the status code alone lies (200 with
 * `Error`). PTZ semantics are in `ptz.ts`, the log search in `log-search.ts`.
 */
import { classifyCgiResponse, isOkBody } from "../protocol/cgi.ts";
import {
  buildTarget,
  checkDeviceKey,
  checkDeviceValue,
  DeviceArgumentError,
} from "../protocol/cgi-target.ts";
import {
  getAtPath,
  type JsonObject,
  type JsonValue,
  kvToTree,
  parseKvLines,
  parsePath,
  treeToKv,
} from "../protocol/kv.ts";
import type { Priority } from "./budget.ts";
import { CameraError } from "./errors.ts";
import type { CameraSession } from "./session.ts";

export interface DeviceInfo {
  type: string;
  serial: string;
  softwareVersion: string;
  /** From `version=2.520.AC00.18.R,build:2017-06-29`. */
  build: string | undefined;
  hardwareVersion: string | undefined;
  vendor: string | undefined;
  machineName: string | undefined;
}

function fieldOf(body: string, key: string): string | undefined {
  return parseKvLines(body).find(([k]) => k === key)?.[1];
}

export class CameraApi {
  constructor(readonly session: CameraSession) {}

  get id(): string {
    return this.session.id;
  }

  /**
   * The request target for a CGI call; input no encoding can carry to the camera (`&` or control characters
   * in a value, an unsafe key) is an `invalid-argument` CameraError, and nothing is sent.
   */
  targetFor(cgi: string, pairs: readonly (readonly [string, string | number | boolean])[]): string {
    try {
      return buildTarget(cgi, pairs);
    } catch (error) {
      if (error instanceof DeviceArgumentError)
        throw new CameraError("invalid-argument", this.id, error.message, { cause: error });
      throw error;
    }
  }

  /** Checks, without sending anything, that config values can go to the camera (see `targetFor`). */
  checkConfigValues(values: Record<string, string | number | boolean>): void {
    try {
      for (const [key, value] of Object.entries(values)) {
        checkDeviceKey(key);
        checkDeviceValue(String(value));
      }
    } catch (error) {
      if (error instanceof DeviceArgumentError)
        throw new CameraError("invalid-argument", this.id, error.message, { cause: error });
      throw error;
    }
  }

  /** One CGI call whose answer must be a success; the body as text. */
  async cgi(target: string, priority: Priority = "interactive"): Promise<string> {
    const response = await this.session.request({ target, priority });
    const verdict = classifyCgiResponse(response.status, response.body);
    if (!verdict.ok)
      throw new CameraError(verdict.code, this.id, verdict.detail, { status: response.status });
    return response.body.toString("utf8");
  }

  private async expectOk(target: string, priority: Priority = "interactive"): Promise<void> {
    const body = await this.cgi(target, priority);
    if (!isOkBody(body))
      throw new CameraError("rejected", this.id, `expected OK, got ${JSON.stringify(body.slice(0, 100))}`);
  }

  private async magicBox(action: string, key: string): Promise<string> {
    const value = fieldOf(await this.cgi(this.targetFor("magicBox.cgi", [["action", action]])), key);
    if (value === undefined)
      throw new CameraError("bad-response", this.id, `${action} answered without ${key}=`);
    return value;
  }

  async deviceInfo(): Promise<DeviceInfo> {
    const optional = async (action: string, key: string) => {
      try {
        return await this.magicBox(action, key);
      } catch (error) {
        // getVendor is missing on some old firmware (aiodahua); that is not a failure of the whole call.
        if (error instanceof CameraError && (error.code === "unsupported" || error.code === "rejected"))
          return undefined;
        throw error;
      }
    };
    const type = await this.magicBox("getDeviceType", "type");
    const serial = await this.magicBox("getSerialNo", "sn");
    const version = await this.magicBox("getSoftwareVersion", "version");
    // `2.520.AC00.18.R,build:2017-06-29`; python-amcrest also saw a space-separated variant.
    const [softwareVersion, build] = version.split(/,\s*build:|\s+build:/);
    return {
      type,
      serial,
      softwareVersion: softwareVersion ?? version,
      build,
      hardwareVersion: await optional("getHardwareVersion", "version"),
      vendor: await optional("getVendor", "vendor"),
      machineName: await optional("getMachineName", "name"),
    };
  }

  async systemInfo(): Promise<Record<string, string>> {
    return Object.fromEntries(
      parseKvLines(await this.cgi(this.targetFor("magicBox.cgi", [["action", "getSystemInfo"]]))),
    );
  }

  /** The camera's wall clock as it prints it (`2011-7-3 21:02:32` or zero-padded; no time zone). */
  async time(): Promise<string> {
    const value = fieldOf(
      await this.cgi(this.targetFor("global.cgi", [["action", "getCurrentTime"]])),
      "result",
    );
    if (value === undefined)
      throw new CameraError("bad-response", this.id, "getCurrentTime answered without result=");
    return value;
  }

  async setTime(wallClock: string): Promise<void> {
    if (!/^\d{4}-\d{1,2}-\d{1,2} \d{1,2}:\d{1,2}:\d{1,2}$/.test(wallClock)) {
      throw new CameraError("invalid-argument", this.id, "time must look like 2026-11-28 12:00:00");
    }
    await this.expectOk(
      this.targetFor("global.cgi", [
        ["action", "setCurrentTime"],
        ["time", wallClock],
      ]),
    );
  }

  /** A config section (or dotted sub-tree) as a JSON tree, without the `table.` prefix. */
  async getConfig(name: string, priority: Priority = "interactive"): Promise<JsonValue> {
    const body = await this.cgi(
      this.targetFor("configManager.cgi", [
        ["action", "getConfig"],
        ["name", name],
      ]),
      priority,
    );
    const tree = kvToTree(parseKvLines(body), { stripPrefix: "table" });
    if (name === "All") return tree;
    const subtree = getAtPath(tree, parsePath(name));
    if (subtree === undefined)
      throw new CameraError("bad-response", this.id, `getConfig ${name} answered without ${name}`);
    return subtree;
  }

  /**
   * Sets config values by path (`{"General.MachineName": "front", "NTP.Enable": true}`), in one request, and
   * checks the `OK`. Paths are sent without the `table.` prefix, as devices require.
   */
  async setConfig(
    values: Record<string, string | number | boolean>,
    priority: Priority = "interactive",
  ): Promise<void> {
    const pairs = Object.entries(values);
    if (pairs.length === 0) return;
    await this.expectOk(this.targetFor("configManager.cgi", [["action", "setConfig"], ...pairs]), priority);
  }

  /** Sets every leaf of a (partial) tree under `name`, e.g. `setConfigTree("NTP", { Enable: true })`. */
  setConfigTree(name: string, tree: JsonValue, priority: Priority = "interactive"): Promise<void> {
    return this.setConfig(Object.fromEntries(treeToKv(tree, parsePath(name))), priority);
  }

  /** The whole config as JSON: Config.backup, or getConfig&name=All turned into the same shape. */
  async configBackup(priority: Priority = "background"): Promise<JsonObject> {
    try {
      const text = await this.cgi(this.targetFor("Config.backup", [["action", "All"]]), priority);
      const parsed = JSON.parse(text) as JsonValue;
      if (parsed !== null && typeof parsed === "object" && !Array.isArray(parsed)) return parsed;
      throw new CameraError("bad-response", this.id, "Config.backup is not a JSON object");
    } catch (error) {
      if (error instanceof CameraError && error.code !== "unsupported") throw error;
      if (error instanceof SyntaxError || error instanceof CameraError) {
        return (await this.getConfig("All", priority)) as JsonObject;
      }
      throw error;
    }
  }

  async snapshot(channel = 1, priority: Priority = "interactive"): Promise<Buffer> {
    const response = await this.session.request({
      target: this.targetFor("snapshot.cgi", [["channel", channel]]),
      priority,
    });
    const verdict = classifyCgiResponse(response.status, response.body);
    if (!verdict.ok)
      throw new CameraError(verdict.code, this.id, verdict.detail, { status: response.status });
    if (response.body[0] !== 0xff || response.body[1] !== 0xd8) {
      throw new CameraError("bad-response", this.id, "snapshot.cgi did not return a JPEG");
    }
    return response.body;
  }

  /**
   * One ptz.cgi command, `action=start|stop&channel=N&code=<code>&arg1=..`, answered with `OK`. The meaning
   * of codes and arguments (and which stop ends which move) is `camera/ptz.ts`'s business.
   */
  ptz(
    action: "start" | "stop",
    code: string,
    args: readonly number[],
    channel: number,
    priority: Priority = "interactive",
  ): Promise<void> {
    return this.expectOk(
      this.targetFor("ptz.cgi", [
        ["action", action],
        ["channel", channel],
        ["code", code],
        ...args.map((value, i): [string, number] => [`arg${i + 1}`, value]),
      ]),
      priority,
    );
  }

  /** Renames a preset: `ptz.cgi?action=SetPreset&channel=1&arg1=<n>&arg2=<name>` (reference §2.6). */
  ptzRenamePreset(index: number, name: string, channel: number): Promise<void> {
    return this.expectOk(
      this.targetFor("ptz.cgi", [
        ["action", "SetPreset"],
        ["channel", channel],
        ["arg1", index],
        ["arg2", name],
      ]),
    );
  }

  /** Channels (0-based) on which `code` is active; firmware answers an Error body when none is. */
  async eventIndexes(code: string): Promise<number[]> {
    try {
      const body = await this.cgi(
        this.targetFor("eventManager.cgi", [
          ["action", "getEventIndexes"],
          ["code", code],
        ]),
      );
      return parseKvLines(body)
        .filter(([key]) => key.startsWith("channels["))
        .map(([, value]) => Number(value))
        .filter(Number.isInteger);
    } catch (error) {
      if (error instanceof CameraError && (error.code === "unsupported" || error.code === "rejected"))
        return [];
      throw error;
    }
  }

  reboot(): Promise<void> {
    return this.expectOk(this.targetFor("magicBox.cgi", [["action", "reboot"]]));
  }

  /** Seconds since the camera booted (`getUpTime`; missing on some firmware: `unsupported`). */
  async uptimeSeconds(priority: Priority = "background"): Promise<number> {
    const value = fieldOf(
      await this.cgi(this.targetFor("magicBox.cgi", [["action", "getUpTime"]]), priority),
      "up",
    );
    const seconds = value === undefined ? Number.NaN : Number(value);
    if (!Number.isFinite(seconds))
      throw new CameraError("bad-response", this.id, "getUpTime answered without a number in up=");
    return seconds;
  }

  /** How many video channels the camera has: one `ChannelTitle` entry per channel (NVRs: 4, 8, 16, ...). */
  async channelCount(priority: Priority = "background"): Promise<number> {
    const titles = await this.getConfig("ChannelTitle", priority);
    return Array.isArray(titles) ? Math.max(1, titles.length) : 1;
  }

  /** The event codes the camera can report (`getExposureEvents`; missing on older firmware). */
  async exposureEvents(priority: Priority = "background"): Promise<string[]> {
    const body = await this.cgi(
      this.targetFor("eventManager.cgi", [["action", "getExposureEvents"]]),
      priority,
    );
    return parseKvLines(body)
      .map(([, value]) => value.trim())
      .filter((value) => value !== "");
  }

  /** The request target of the MJPEG stream (channel 1-based; subtype 0 main, 1 extra1, 2 extra2). */
  static mjpegTarget(channel = 1, subtype = 1): string {
    return buildTarget("mjpg/video.cgi", [
      ["channel", channel],
      ["subtype", subtype],
    ]);
  }

  /** The RTSP URL without credentials (they go in the RTSP client's Digest, never in a URL we log). */
  static rtspUrl(host: string, channel = 1, subtype = 0, port = 554): string {
    return `rtsp://${host}:${port}/cam/realmonitor?channel=${channel}&subtype=${subtype}`;
  }
}
