/**
 * The typed camera API over CameraSession: device info, time, config, snapshot, PTZ, events, logs, reboot.
 * Every answer is judged by `classifyCgiResponse`, since the status code alone lies (200 with `Error`).
 */
import { classifyCgiResponse, isOkBody } from "../protocol/cgi.ts";
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

export type PtzDirection = "up" | "down" | "left" | "right" | "leftup" | "rightup" | "leftdown" | "rightdown";

const DIRECTION_CODES: Record<PtzDirection, string> = {
  up: "Up",
  down: "Down",
  left: "Left",
  right: "Right",
  leftup: "LeftUp",
  rightup: "RightUp",
  leftdown: "LeftDown",
  rightdown: "RightDown",
};

export interface PtzStatus {
  action: string | undefined;
  moving: boolean;
  /** pan (degrees), tilt (degrees), zoom, from the firmware's `status.Postion[n]` spelling. */
  position: { pan: number; tilt: number; zoom: number } | undefined;
  presetId: number | undefined;
}

export interface PtzPreset {
  index: number;
  name: string;
}

export interface LogItem {
  time: string;
  type: string;
  user: string | undefined;
  level: number | undefined;
  detail: JsonValue | undefined;
}

/** Characters a config key may carry on the wire as is. */
const SAFE_KEY = /^[A-Za-z0-9_.[\]-]+$/;

/**
 * Encodes a query value the way the firmware needs it (reference §2.0): spaces as `%20` (a raw space rejects
 * the request), and `#`, `+`, `%`, `=`, `/`, `'` percent-encoded. `&` is refused: the firmware decodes the
 * whole query before splitting it, so no encoding can carry it (NV4116-HS).
 */
export function encodeDeviceValue(value: string): string {
  if (value.includes("&"))
    throw new RangeError(`a camera cannot receive '&' in a value: ${JSON.stringify(value)}`);
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

export function buildTarget(
  cgi: string,
  pairs: readonly (readonly [string, string | number | boolean])[],
): string {
  const query = pairs
    .map(([key, value]) => {
      if (!SAFE_KEY.test(key)) throw new RangeError(`unsafe parameter name ${JSON.stringify(key)}`);
      return `${key}=${encodeDeviceValue(String(value))}`;
    })
    .join("&");
  return `/cgi-bin/${cgi}${query ? `?${query}` : ""}`;
}

function fieldOf(body: string, key: string): string | undefined {
  return parseKvLines(body).find(([k]) => k === key)?.[1];
}

export class CameraApi {
  constructor(readonly session: CameraSession) {}

  get id(): string {
    return this.session.id;
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
    const value = fieldOf(await this.cgi(buildTarget("magicBox.cgi", [["action", action]])), key);
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
      parseKvLines(await this.cgi(buildTarget("magicBox.cgi", [["action", "getSystemInfo"]]))),
    );
  }

  /** The camera's wall clock as it prints it (`2011-7-3 21:02:32` or zero-padded; no time zone). */
  async time(): Promise<string> {
    const value = fieldOf(
      await this.cgi(buildTarget("global.cgi", [["action", "getCurrentTime"]])),
      "result",
    );
    if (value === undefined)
      throw new CameraError("bad-response", this.id, "getCurrentTime answered without result=");
    return value;
  }

  async setTime(wallClock: string): Promise<void> {
    if (!/^\d{4}-\d{1,2}-\d{1,2} \d{1,2}:\d{1,2}:\d{1,2}$/.test(wallClock)) {
      throw new RangeError("time must look like 2026-11-28 12:00:00");
    }
    await this.expectOk(
      buildTarget("global.cgi", [
        ["action", "setCurrentTime"],
        ["time", wallClock],
      ]),
    );
  }

  /** A config section (or dotted sub-tree) as a JSON tree, without the `table.` prefix. */
  async getConfig(name: string, priority: Priority = "interactive"): Promise<JsonValue> {
    const body = await this.cgi(
      buildTarget("configManager.cgi", [
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
    await this.expectOk(buildTarget("configManager.cgi", [["action", "setConfig"], ...pairs]), priority);
  }

  /** Sets every leaf of a (partial) tree under `name`, e.g. `setConfigTree("NTP", { Enable: true })`. */
  setConfigTree(name: string, tree: JsonValue, priority: Priority = "interactive"): Promise<void> {
    return this.setConfig(Object.fromEntries(treeToKv(tree, parsePath(name))), priority);
  }

  /** The whole config as JSON: Config.backup, or getConfig&name=All turned into the same shape. */
  async configBackup(priority: Priority = "background"): Promise<JsonObject> {
    try {
      const text = await this.cgi(buildTarget("Config.backup", [["action", "All"]]), priority);
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
      target: buildTarget("snapshot.cgi", [["channel", channel]]),
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

  private ptz(pairs: [string, string | number][]): Promise<void> {
    return this.expectOk(buildTarget("ptz.cgi", pairs));
  }

  /** Starts a move; `speed` 1–8. Stop with `ptzStop(direction)`. */
  ptzMove(direction: PtzDirection, speed = 4, channel = 1): Promise<void> {
    const code = DIRECTION_CODES[direction];
    const s = Math.min(8, Math.max(1, Math.round(speed)));
    // Diagonals take arg1 vertical and arg2 horizontal speed; straight moves use arg2 (reference §2.6).
    return this.ptz([
      ["action", "start"],
      ["channel", channel],
      ["code", code],
      ["arg1", code.length > 5 ? s : 0],
      ["arg2", s],
      ["arg3", 0],
    ]);
  }

  ptzStop(direction: PtzDirection | "zoomin" | "zoomout" = "left", channel = 1): Promise<void> {
    const code =
      direction === "zoomin" ? "ZoomTele" : direction === "zoomout" ? "ZoomWide" : DIRECTION_CODES[direction];
    return this.ptz([
      ["action", "stop"],
      ["channel", channel],
      ["code", code],
      ["arg1", 0],
      ["arg2", 0],
      ["arg3", 0],
    ]);
  }

  /** Zoom in sends ZoomTele: python-amcrest's zoom_in does, the spec's labels are swapped (reference §2.6). */
  ptzZoom(direction: "in" | "out", channel = 1): Promise<void> {
    return this.ptz([
      ["action", "start"],
      ["channel", channel],
      ["code", direction === "in" ? "ZoomTele" : "ZoomWide"],
      ["arg1", 0],
      ["arg2", 0],
      ["arg3", 0],
    ]);
  }

  /** Continuous move: pan/tilt/zoom speeds −8..8 (zoom −100..100), stopping by itself after `timeoutSeconds`. */
  ptzContinuous(pan: number, tilt: number, zoom: number, timeoutSeconds: number, channel = 1): Promise<void> {
    return this.ptz([
      ["action", "start"],
      ["channel", channel],
      ["code", "Continuously"],
      ["arg1", pan],
      ["arg2", tilt],
      ["arg3", zoom],
      ["arg4", timeoutSeconds],
    ]);
  }

  ptzGotoPreset(preset: number, channel = 1): Promise<void> {
    return this.ptz([
      ["action", "start"],
      ["channel", channel],
      ["code", "GotoPreset"],
      ["arg1", 0],
      ["arg2", preset],
      ["arg3", 0],
    ]);
  }

  async ptzSetPreset(preset: number, name?: string, channel = 1): Promise<void> {
    await this.ptz([
      ["action", "start"],
      ["channel", channel],
      ["code", "SetPreset"],
      ["arg1", 0],
      ["arg2", preset],
      ["arg3", 0],
    ]);
    if (name !== undefined)
      await this.ptz([
        ["action", "SetPreset"],
        ["channel", channel],
        ["arg1", preset],
        ["arg2", name],
      ]);
  }

  ptzClearPreset(preset: number, channel = 1): Promise<void> {
    return this.ptz([
      ["action", "start"],
      ["channel", channel],
      ["code", "ClearPreset"],
      ["arg1", 0],
      ["arg2", preset],
      ["arg3", 0],
    ]);
  }

  /** Presets; an empty body means none (bcpearce `ptz_config_presets_empty.json`). */
  async ptzPresets(channel = 1): Promise<PtzPreset[]> {
    const tree = kvToTree(
      parseKvLines(
        await this.cgi(
          buildTarget("ptz.cgi", [
            ["action", "getPresets"],
            ["channel", channel],
          ]),
        ),
      ),
      { coerce: false },
    );
    const presets = Array.isArray(tree.presets) ? tree.presets : [];
    return presets
      .filter((p): p is JsonObject => p !== null && typeof p === "object" && !Array.isArray(p))
      .map((p) => ({ index: Number(p.Index), name: String(p.Name ?? "") }))
      .filter((p) => Number.isInteger(p.index));
  }

  async ptzStatus(channel = 1): Promise<PtzStatus> {
    const fields = Object.fromEntries(
      parseKvLines(
        await this.cgi(
          buildTarget("ptz.cgi", [
            ["action", "getStatus"],
            ["channel", channel],
          ]),
        ),
      ),
    );
    // Firmware spells it `Postion` (bcpearce `ptz_status.json`); accept the correct spelling too.
    const at = (i: number) => fields[`status.Postion[${i}]`] ?? fields[`status.Position[${i}]`];
    const pan = at(0);
    const tilt = at(1);
    const zoom = at(2);
    return {
      action: fields["status.Action"],
      moving: fields["status.MoveStatus"] === "Moving" || fields["status.ZoomStatus"] === "Moving",
      position:
        pan !== undefined && tilt !== undefined
          ? { pan: Number(pan), tilt: Number(tilt), zoom: Number(zoom ?? 1) }
          : undefined,
      presetId: fields["status.PresetID"] === undefined ? undefined : Number(fields["status.PresetID"]),
    };
  }

  async ptzCaps(channel = 1): Promise<JsonObject> {
    const tree = kvToTree(
      parseKvLines(
        await this.cgi(
          buildTarget("ptz.cgi", [
            ["action", "getCurrentProtocolCaps"],
            ["channel", channel],
          ]),
        ),
      ),
    );
    const caps = tree.caps;
    return caps !== null && typeof caps === "object" && !Array.isArray(caps) ? caps : {};
  }

  /** Whether the camera can pan or tilt (a fixed camera's caps say so). */
  async hasPtz(channel = 1): Promise<boolean> {
    const caps = await this.ptzCaps(channel);
    return caps.Pan === true || caps.Tile === true || caps.Zoom === true;
  }

  /** Channels (0-based) on which `code` is active; firmware answers an Error body when none is. */
  async eventIndexes(code: string): Promise<number[]> {
    try {
      const body = await this.cgi(
        buildTarget("eventManager.cgi", [
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

  /**
   * The camera's log between two wall-clock times, page by page (startFind, doFind until found=0), as an
   * async iterator; stopFind is always sent, even when the consumer stops early or a page fails.
   */
  async *logs(
    from: string,
    to: string,
    pageSize = 100,
    priority: Priority = "background",
  ): AsyncGenerator<LogItem> {
    const start = await this.cgi(
      buildTarget("log.cgi", [
        ["action", "startFind"],
        ["condition.StartTime", from],
        ["condition.EndTime", to],
      ]),
      priority,
    );
    const token = fieldOf(start, "token");
    if (token === undefined)
      throw new CameraError("bad-response", this.id, "log startFind answered without token=");
    try {
      for (;;) {
        const page = await this.cgi(
          buildTarget("log.cgi", [
            ["action", "doFind"],
            ["token", token],
            ["count", pageSize],
          ]),
          priority,
        );
        const tree = kvToTree(parseKvLines(page), { coerce: false });
        const items = Array.isArray(tree.items) ? tree.items : [];
        if (Number(tree.found ?? 0) === 0 || items.length === 0) return;
        for (const item of items) {
          if (item === null || typeof item !== "object" || Array.isArray(item)) continue;
          yield {
            time: String(item.Time ?? ""),
            type: String(item.Type ?? ""),
            user: item.User === undefined ? undefined : String(item.User),
            level: item.Level === undefined ? undefined : Number(item.Level),
            detail: item.Detail,
          };
        }
      }
    } finally {
      await this.cgi(
        buildTarget("log.cgi", [
          ["action", "stopFind"],
          ["token", token],
        ]),
        priority,
      ).catch(() => undefined);
    }
  }

  reboot(): Promise<void> {
    return this.expectOk(buildTarget("magicBox.cgi", [["action", "reboot"]]));
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
