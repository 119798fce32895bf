/**
 * Gathers what an audit judges: the camera's identity and firmware, the config sections the checklist
 * reads, its clock, and one unauthenticated probe per door. Every authenticated read is one camgate makes
 * anyway (magicBox, configManager getConfig, global getCurrentTime) at background priority through the
 * camera's session, so the connection budget and the no-lockout rules hold; a section the firmware does not
 * have is left out, never retried.
 */
import { CameraError } from "../camera/errors.ts";
import { probeCgi, probeOnvif, probePort, probeRtsp } from "../camera/open-doors.ts";
import type { CameraEntry } from "../camera/registry.ts";
import { wallClockMs } from "../camera/sd-card.ts";
import type { CameraConfig } from "../config/schema.ts";
import type { JsonValue } from "../protocol/kv.ts";
import {
  AUDITED_SECTIONS,
  type AuditedSection,
  type AuditFacts,
  type OpenDoors,
  type PortName,
} from "./facts.ts";
import { parseFirmware } from "./firmware.ts";

export interface AuditTarget {
  entry: CameraEntry;
  /** The camera's URL and credentials as camgate is configured (the password is judged locally only). */
  url: string;
  username: string;
  password: string;
  onvifDevicePath: string;
  /** The ports probed with a TCP connect; null: not probed. */
  ports: Record<PortName, number | null>;
}

export const DEFAULT_AUDIT_PORTS: Record<PortName, number> = {
  telnet: 23,
  ssh: 22,
  dvrip: 37777,
  https: 443,
  rtmp: 1935,
};

/** The audit of a configured camera as the config says (undefined: not audited: off, or not a Dahua camera). */
export function auditTargetFor(
  camera: CameraConfig,
  entry: CameraEntry,
  audit: { enabled: boolean; probePorts: boolean },
): AuditTarget | undefined {
  if (!audit.enabled || entry.protocol !== "dahua" || camera.audit?.enabled === false) return undefined;
  const ports = {} as Record<PortName, number | null>;
  for (const name of Object.keys(DEFAULT_AUDIT_PORTS) as PortName[]) {
    const configured = camera.audit?.ports?.[name];
    ports[name] =
      !audit.probePorts || configured === false ? null : (configured ?? DEFAULT_AUDIT_PORTS[name]);
  }
  return {
    entry,
    url: camera.url,
    username: camera.username,
    password: camera.password,
    onvifDevicePath: camera.onvifDevicePath,
    ports,
  };
}

/** Answers that mean "this firmware has no such thing", not "the camera failed". */
const ABSENT_CODES = new Set(["unsupported", "rejected", "bad-response"]);

async function optional<T>(read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch (error) {
    if (error instanceof CameraError && ABSENT_CODES.has(error.code)) return undefined;
    throw error;
  }
}

/** Time zones are whole quarter hours: what is left over is how far the clock is off. */
const QUARTER_HOUR_MS = 15 * 60_000;

function clockOffset(cameraWallClock: string | undefined, now: number): number | undefined {
  const camera = cameraWallClock === undefined ? undefined : wallClockMs(cameraWallClock);
  if (camera === undefined) return undefined;
  const offset = camera - now;
  return offset - Math.round(offset / QUARTER_HOUR_MS) * QUARTER_HOUR_MS;
}

async function gatherDoors(target: AuditTarget): Promise<OpenDoors> {
  const { entry } = target;
  const host = new URL(target.url).hostname.replace(/^\[|\]$/g, "");
  const cgi = await probeCgi(entry.session);
  const onvif = await probeOnvif(entry.session, target.onvifDevicePath);
  const rtsp = await probeRtsp(entry.rtsp.host, entry.rtsp.port, entry.rtsp.main);
  const ports = {} as OpenDoors["ports"];
  const portNumbers: Partial<Record<PortName, number>> = {};
  for (const name of Object.keys(DEFAULT_AUDIT_PORTS) as PortName[]) {
    const port = target.ports[name];
    ports[name] = port === null ? "skipped" : await probePort(host, port);
    if (port !== null) portNumbers[name] = port;
  }
  return { cgi: cgi.answer, schemes: cgi.schemes, rtsp, onvif, ports, portNumbers };
}

/** Throws a CameraError when the camera cannot be read at all (unreachable, credentials refused). */
export async function gatherFacts(
  target: AuditTarget,
  now: () => Date = () => new Date(),
): Promise<AuditFacts> {
  const { api } = target.entry;
  const info = await api.deviceInfo();
  const system = await optional(() => api.systemInfo());
  const config: Partial<Record<AuditedSection, JsonValue>> = {};
  for (const section of AUDITED_SECTIONS) {
    const value = await optional(() => api.getConfig(section, "background"));
    if (value !== undefined) config[section] = value;
  }
  const cameraTime = await optional(() => api.time());
  const at = now();
  const url = new URL(target.url);
  return {
    device: {
      model: info.type,
      platformName: system?.updateSerial,
      vendor: info.vendor,
      firmware: parseFirmware(info.softwareVersion, info.build),
    },
    config,
    clockOffsetMs: clockOffset(cameraTime, at.getTime()),
    doors: await gatherDoors(target),
    local: {
      username: target.username,
      password: target.password,
      scheme: url.protocol === "https:" ? "https" : "http",
      host: url.host,
    },
    at,
  };
}
