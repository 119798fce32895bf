/**
 * The PTZ service of a camera's ONVIF face (ver20), mapped onto camgate's one PTZ model (camera/ptz.ts):
 * a ContinuousMove's velocity becomes a direction and a speed of 1-8, its Timeout the move's duration;
 * Stop, presets and the status go through the same controller the REST API, MQTT and the web UI use.
 * What the Dahua CGI cannot do (absolute and relative moves in ONVIF spaces, a home position) is a fault
 * that says so, never a move somewhere else.
 */
import type { CameraPtz } from "../../camera/ptz.ts";
import {
  PTZ_LIMITS,
  type PtzCommand,
  type PtzDirection,
  type ZoomDirection,
} from "../../camera/ptz-command.ts";
import { childOf, textOf, type XmlObject, type XmlValue, xml } from "../../protocol/soap.ts";
import { parseDuration } from "../../protocol/xml-duration.ts";
import { OnvifFault } from "./onvif-device.ts";

/** Operations that move the camera or change its presets: the operator role, as on the REST API. */
export const PTZ_CONTROL_OPERATIONS = new Set([
  "ContinuousMove",
  "RelativeMove",
  "AbsoluteMove",
  "Stop",
  "GotoPreset",
  "SetPreset",
  "RemovePreset",
  "GotoHomePosition",
  "SetHomePosition",
]);

const VELOCITY_PAN_TILT = "http://www.onvif.org/ver10/tptz/PanTiltSpaces/VelocityGenericSpace";
const VELOCITY_ZOOM = "http://www.onvif.org/ver10/tptz/ZoomSpaces/VelocityGenericSpace";
const POSITION_PAN_TILT = "http://www.onvif.org/ver10/tptz/PanTiltSpaces/PositionGenericSpace";
/** A velocity this close to 0 on an axis is no motion on it (clients send 0.0001 for "stop"). */
const DEAD_ZONE = 0.05;

const attribute = (value: XmlValue | undefined, name: string): number => {
  const text =
    value !== undefined && typeof value === "object" && !Array.isArray(value) ? value[`@_${name}`] : "";
  const number = Number(typeof text === "string" ? text : "");
  return Number.isFinite(number) ? Math.max(-1, Math.min(1, number)) : 0;
};

function directionOf(x: number, y: number): PtzDirection | undefined {
  const pan = x > DEAD_ZONE ? "right" : x < -DEAD_ZONE ? "left" : "";
  const tilt = y > DEAD_ZONE ? "up" : y < -DEAD_ZONE ? "down" : "";
  if (pan && tilt) return `${pan}${tilt}` as PtzDirection;
  return (pan || tilt || undefined) as PtzDirection | undefined;
}

/**
 * The commands a ContinuousMove asks for: a pan/tilt move and a zoom, each stopping by itself after the
 * Timeout, or after the longest move camgate allows when there is none (a client that dies mid-move must
 * not leave the camera turning).
 */
export function continuousMoveCommands(body: XmlObject): PtzCommand[] {
  const velocity = childOf(body, "Velocity");
  const panTilt = childOf(velocity, "PanTilt");
  const zoom = childOf(velocity, "Zoom");
  const x = attribute(panTilt, "x");
  const y = attribute(panTilt, "y");
  const z = attribute(zoom, "x");
  const timeout = textOf(childOf(body, "Timeout"));
  const asked = timeout === undefined ? undefined : parseDuration(timeout);
  if (timeout !== undefined && asked === undefined)
    throw new OnvifFault("ter:InvalidArgVal/ter:InvalidTimeout", `"${timeout}" is not a duration`);
  const durationMs = Math.min(
    PTZ_LIMITS.durationMs.max,
    Math.max(PTZ_LIMITS.durationMs.min, asked ?? PTZ_LIMITS.durationMs.max),
  );
  const commands: PtzCommand[] = [];
  const direction = directionOf(x, y);
  if (direction) {
    const speed = Math.min(
      PTZ_LIMITS.speed.max,
      Math.max(1, Math.ceil(Math.max(Math.abs(x), Math.abs(y)) * 8)),
    );
    commands.push({ action: "move", channel: 1, direction, speed, durationMs });
  }
  if (Math.abs(z) > DEAD_ZONE) {
    const zoomDirection: ZoomDirection = z > 0 ? "in" : "out";
    commands.push({ action: "zoom", channel: 1, direction: zoomDirection, durationMs });
  }
  // A zero velocity is how some clients stop.
  if (commands.length === 0) commands.push({ action: "stop", channel: 1 });
  return commands;
}

export function stopCommand(body: XmlObject): PtzCommand {
  const flag = (name: string) => {
    const text = textOf(childOf(body, name));
    return text === undefined ? undefined : text.trim() === "true" || text.trim() === "1";
  };
  const panTilt = flag("PanTilt");
  const zoom = flag("Zoom");
  // Absent means "stop that axis too" (ONVIF PTZ spec 5.3.5); one axis named false stops only the other.
  if (panTilt === false && zoom !== false) return { action: "stop", channel: 1, direction: "in" };
  if (zoom === false && panTilt !== false) return { action: "stop", channel: 1, direction: "up" };
  return { action: "stop", channel: 1 };
}

function presetToken(body: XmlObject): number {
  const text = textOf(childOf(body, "PresetToken"))?.trim() ?? "";
  const preset = Number(text);
  if (!/^\d+$/.test(text) || preset < PTZ_LIMITS.preset.min || preset > PTZ_LIMITS.preset.max)
    throw new OnvifFault("ter:InvalidArgVal/ter:NoToken", `no preset "${text}"`);
  return preset;
}

const node = `<tptz:PTZNode token="ptz-node" FixedHomePosition="false"><tt:Name>PTZ</tt:Name><tt:SupportedPTZSpaces><tt:ContinuousPanTiltVelocitySpace><tt:URI>${VELOCITY_PAN_TILT}</tt:URI><tt:XRange><tt:Min>-1</tt:Min><tt:Max>1</tt:Max></tt:XRange><tt:YRange><tt:Min>-1</tt:Min><tt:Max>1</tt:Max></tt:YRange></tt:ContinuousPanTiltVelocitySpace><tt:ContinuousZoomVelocitySpace><tt:URI>${VELOCITY_ZOOM}</tt:URI><tt:XRange><tt:Min>-1</tt:Min><tt:Max>1</tt:Max></tt:XRange></tt:ContinuousZoomVelocitySpace></tt:SupportedPTZSpaces><tt:MaximumNumberOfPresets>${PTZ_LIMITS.preset.max}</tt:MaximumNumberOfPresets><tt:HomeSupported>false</tt:HomeSupported></tptz:PTZNode>`;

const configuration = (tag: string) =>
  `<tptz:${tag} token="ptz"><tt:Name>PTZ</tt:Name><tt:UseCount>2</tt:UseCount><tt:NodeToken>ptz-node</tt:NodeToken><tt:DefaultContinuousPanTiltVelocitySpace>${VELOCITY_PAN_TILT}</tt:DefaultContinuousPanTiltVelocitySpace><tt:DefaultContinuousZoomVelocitySpace>${VELOCITY_ZOOM}</tt:DefaultContinuousZoomVelocitySpace><tt:DefaultPTZTimeout>PT${PTZ_LIMITS.durationMs.max / 1000}S</tt:DefaultPTZTimeout></tptz:${tag}>`;

/** Dahua positions are degrees (pan 0-360, tilt -90-90); ONVIF's generic space is -1..1. */
const normalised = (value: number, range: number) => Math.max(-1, Math.min(1, value / range)).toFixed(4);

export async function ptzOperation(ptz: CameraPtz, operation: string, body: XmlObject): Promise<string> {
  switch (operation) {
    case "GetServiceCapabilities":
      return `<tptz:GetServiceCapabilitiesResponse><tptz:Capabilities EFlip="false" Reverse="false" GetCompatibleConfigurations="false" MoveStatus="true" StatusPosition="true"/></tptz:GetServiceCapabilitiesResponse>`;
    case "GetNodes":
      return `<tptz:GetNodesResponse>${node}</tptz:GetNodesResponse>`;
    case "GetNode":
      return `<tptz:GetNodeResponse>${node}</tptz:GetNodeResponse>`;
    case "GetConfigurations":
      return `<tptz:GetConfigurationsResponse>${configuration("PTZConfiguration")}</tptz:GetConfigurationsResponse>`;
    case "GetConfiguration":
      return `<tptz:GetConfigurationResponse>${configuration("PTZConfiguration")}</tptz:GetConfigurationResponse>`;
    case "GetConfigurationOptions":
      return `<tptz:GetConfigurationOptionsResponse><tptz:PTZConfigurationOptions><tt:Spaces><tt:ContinuousPanTiltVelocitySpace><tt:URI>${VELOCITY_PAN_TILT}</tt:URI><tt:XRange><tt:Min>-1</tt:Min><tt:Max>1</tt:Max></tt:XRange><tt:YRange><tt:Min>-1</tt:Min><tt:Max>1</tt:Max></tt:YRange></tt:ContinuousPanTiltVelocitySpace><tt:ContinuousZoomVelocitySpace><tt:URI>${VELOCITY_ZOOM}</tt:URI><tt:XRange><tt:Min>-1</tt:Min><tt:Max>1</tt:Max></tt:XRange></tt:ContinuousZoomVelocitySpace></tt:Spaces><tt:PTZTimeout><tt:Min>PT0.05S</tt:Min><tt:Max>PT${PTZ_LIMITS.durationMs.max / 1000}S</tt:Max></tt:PTZTimeout></tptz:PTZConfigurationOptions></tptz:GetConfigurationOptionsResponse>`;
    case "ContinuousMove":
      for (const command of continuousMoveCommands(body)) await ptz.run(command);
      return "<tptz:ContinuousMoveResponse/>";
    case "Stop":
      await ptz.run(stopCommand(body));
      return "<tptz:StopResponse/>";
    case "GetPresets": {
      const presets = await ptz.presets(1);
      return `<tptz:GetPresetsResponse>${presets.map((p) => `<tptz:Preset token="${p.index}"><tt:Name>${xml(p.name || `Preset ${p.index}`)}</tt:Name></tptz:Preset>`).join("")}</tptz:GetPresetsResponse>`;
    }
    case "GotoPreset":
      await ptz.run({ action: "gotoPreset", channel: 1, preset: presetToken(body) });
      return "<tptz:GotoPresetResponse/>";
    case "SetPreset": {
      const name = textOf(childOf(body, "PresetName"))?.slice(0, PTZ_LIMITS.nameLength);
      let preset: number;
      if (childOf(body, "PresetToken") !== undefined) preset = presetToken(body);
      else {
        const used = new Set((await ptz.presets(1)).map((p) => p.index));
        preset = 1;
        while (used.has(preset) && preset < PTZ_LIMITS.preset.max) preset++;
        if (used.has(preset)) throw new OnvifFault("ter:Action/ter:TooManyPresets", "every preset is in use");
      }
      await ptz.run({ action: "setPreset", channel: 1, preset, ...(name ? { name } : {}) });
      return `<tptz:SetPresetResponse><tptz:PresetToken>${preset}</tptz:PresetToken></tptz:SetPresetResponse>`;
    }
    case "RemovePreset":
      await ptz.run({ action: "clearPreset", channel: 1, preset: presetToken(body) });
      return "<tptz:RemovePresetResponse/>";
    case "GetStatus": {
      const status = await ptz.status(1);
      const moving = status.moving ? "MOVING" : "IDLE";
      const position = status.position
        ? `<tt:Position><tt:PanTilt x="${normalised(status.position.pan - 180, 180)}" y="${normalised(status.position.tilt, 90)}" space="${POSITION_PAN_TILT}"/></tt:Position>`
        : "";
      return `<tptz:GetStatusResponse><tptz:PTZStatus>${position}<tt:MoveStatus><tt:PanTilt>${moving}</tt:PanTilt><tt:Zoom>${moving}</tt:Zoom></tt:MoveStatus><tt:UtcTime>${new Date().toISOString()}</tt:UtcTime></tptz:PTZStatus></tptz:GetStatusResponse>`;
    }
    case "AbsoluteMove":
    case "RelativeMove":
    case "GotoHomePosition":
    case "SetHomePosition":
      throw new OnvifFault(
        "ter:ActionNotSupported",
        `${operation}: Dahua's PTZ CGI has no ONVIF position space; use ContinuousMove or presets`,
      );
    default:
      throw new OnvifFault("ter:ActionNotSupported", `camgate's ONVIF face does not do ${operation}`);
  }
}
