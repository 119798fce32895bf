/** ptz.cgi of the emulated camera (reference §2.6). */
import type { KvEntry } from "../protocol/kv.ts";
import { type CameraHandler, intParam, replyKv, replyOk, replyUnsupported } from "./cgi-request.ts";

const PRESET_MAX = 25;

/** Caps of a PTZ model (bcpearce `ptz_capabilities*.json`, trimmed to the fields clients read). */
const PTZ_CAPS: KvEntry[] = [
  ["caps.AbsolutePan[0]", "0"],
  ["caps.AbsolutePan[1]", "360"],
  ["caps.AbsoluteTile[0]", "-15"],
  ["caps.AbsoluteTile[1]", "90"],
  ["caps.AutoFocus", "false"],
  ["caps.Name", "DH-SD1"],
  ["caps.Pan", "true"],
  ["caps.PanSpeedMax", "8"],
  ["caps.PanSpeedMin", "1"],
  ["caps.Preset", "true"],
  ["caps.PresetMax", String(PRESET_MAX)],
  ["caps.PresetMin", "1"],
  ["caps.PtzMotionRange.HorizontalAngle[0]", "0"],
  ["caps.PtzMotionRange.HorizontalAngle[1]", "360"],
  ["caps.PtzMotionRange.VerticalAngle[0]", "-15"],
  ["caps.PtzMotionRange.VerticalAngle[1]", "90"],
  ["caps.Tile", "true"],
  ["caps.TileSpeedMax", "8"],
  ["caps.TileSpeedMin", "1"],
  ["caps.Zoom", "true"],
  ["caps.ZoomMax", "4"],
  ["caps.ZoomMin", "1"],
];

/** What a camera without PTZ answers (bcpearce no-PTZ fixture). */
const NO_PTZ_CAPS: KvEntry[] = [
  ["caps.AutoFocus", "false"],
  ["caps.BFFunction.Support", "false"],
];

const fixed = (n: number): string => n.toFixed(6);

export const handlePtz: CameraHandler = (camera, { res, action, params }) => {
  const style = camera.profile.errorStyle;
  const channel = intParam(params, "channel", 1);
  if (action === "getCurrentProtocolCaps") return replyKv(res, camera.profile.ptz ? PTZ_CAPS : NO_PTZ_CAPS);
  if (!camera.profile.ptz || channel !== 1) return replyUnsupported(res, style);
  const ptz = camera.ptz;
  const code = params.get("code") ?? "";
  const arg = (n: number) => intParam(params, `arg${n}`, 0);
  const presetIndex = arg(2);
  const validPreset = Number.isInteger(presetIndex) && presetIndex >= 1 && presetIndex <= PRESET_MAX;
  switch (action) {
    case "start": {
      if (code === "Continuously") {
        ptz.continuously(arg(1), arg(2), arg(3), arg(4));
        return replyOk(res);
      }
      if (code === "GotoPreset")
        return validPreset && ptz.gotoPreset(presetIndex) ? replyOk(res) : replyUnsupported(res, style);
      if (code === "SetPreset") {
        if (!validPreset) return replyUnsupported(res, style);
        ptz.setPreset(presetIndex);
        return replyOk(res);
      }
      if (code === "ClearPreset")
        return validPreset && ptz.clearPreset(presetIndex) ? replyOk(res) : replyUnsupported(res, style);
      return ptz.startMove(code, arg(1), arg(2)) ? replyOk(res) : replyUnsupported(res, style);
    }
    case "stop":
      // Only the code that started a motion stops it; a missing or unknown code is an error (reference §2.6).
      return ptz.stop(code) ? replyOk(res) : replyUnsupported(res, style);
    case "moveAbsolutely":
      ptz.moveAbsolutely({ pan: arg(1), tilt: arg(2), zoom: arg(3) || 1 });
      return replyOk(res);
    case "SetPreset": {
      // Rename: ptz.cgi?action=SetPreset&channel=1&arg1=<n>&arg2=<name> (reference §2.6).
      const index = arg(1);
      const name = params.get("arg2") ?? "";
      if (!Number.isInteger(index) || index < 1 || index > PRESET_MAX || name === "")
        return replyUnsupported(res, style);
      if (!ptz.renamePreset(index, name)) ptz.setPreset(index, name);
      return replyOk(res);
    }
    case "getPresets": {
      // No presets → an empty body (bcpearce `ptz_config_presets_empty.json`).
      const entries: KvEntry[] = [];
      ptz.listPresets().forEach((preset, i) => {
        entries.push([`presets[${i}].Index`, String(preset.index)]);
        entries.push([`presets[${i}].Name`, preset.name]);
        entries.push([`presets[${i}].Type`, "0"]);
      });
      return replyKv(res, entries);
    }
    case "getStatus": {
      const position = ptz.position();
      // `Postion` is the firmware's own spelling (bcpearce `ptz_status.json`, rroller docstring).
      return replyKv(res, [
        ["status.Action", ptz.lastAction],
        ["status.MoveStatus", ptz.isPanning() ? "Moving" : "Idle"],
        ["status.PTS", "0"],
        ["status.Postion[0]", fixed(position.pan)],
        ["status.Postion[1]", fixed(position.tilt)],
        ["status.Postion[2]", fixed(position.zoom)],
        ["status.PresetID", String(ptz.presetId)],
        ["status.Sequence", "0"],
        ["status.UTC", "0"],
        ["status.ZoomStatus", ptz.isZooming() ? "Moving" : "Idle"],
      ]);
    }
    default:
      return replyUnsupported(res, style);
  }
};
