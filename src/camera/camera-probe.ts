/**
 * One look at a camera before camgate relies on it (`config check --probe`, a camera added from the UI):
 * its device facts through one login, and whether its main stream answers. One login, never more: the
 * camera's session applies the no-lockout rules (a refusal remembered in camgate's database is reported
 * without trying again until its backoff ends), so probing can never add up to a lockout.
 */
import type { CameraConfig } from "../config/schema.ts";
import type { DeviceInfo } from "./api.ts";
import { cameraDefinition } from "./definition-from-config.ts";
import { CameraError } from "./errors.ts";
import { type CameraEntry, CameraRegistry } from "./registry.ts";
import { probeRtsp } from "./rtsp-probe.ts";
import type { CameraSessionOptions } from "./session.ts";

export interface CameraProbe {
  ok: boolean;
  /** A closed code: `ok`, `rtsp` (HTTP answered, the stream did not), or the camera error's code. */
  code: string;
  /** One line for people: what was found, or what failed and what to do. */
  summary: string;
  device: DeviceInfo | undefined;
  /** The main stream as the camera described it (`H.264 1920x1080`), when it answered. */
  mainStream: string | undefined;
}

export async function probeCamera(entry: CameraEntry): Promise<CameraProbe> {
  const where = new URL(entry.session.origin).host;
  let device: DeviceInfo;
  try {
    device = await (entry.onvif ? entry.onvif.deviceInfo() : entry.api.deviceInfo());
  } catch (error) {
    const code = error instanceof CameraError ? error.code : "error";
    const message = error instanceof Error ? error.message : String(error);
    const advice =
      code === "auth-failed"
        ? `: fix cameras.${entry.id}.username/password (camgate tries this camera again only after its backoff, so it never locks you out)`
        : code === "unreachable" || code === "timeout"
          ? `: is ${where} the camera's address, and is it on?`
          : "";
    return { ok: false, code, summary: `${message}${advice}`, device: undefined, mainStream: undefined };
  }
  const name = device.machineName ? `, named ${device.machineName}` : "";
  const described = `${device.vendor ?? "Amcrest/Dahua"} ${device.type}, firmware ${device.softwareVersion}${name} (${where})`;
  // The main stream too: HTTP that answers says nothing of the RTSP port (issue 27). An ONVIF camera's
  // stream is where its profile says; this look is for the configured RTSP of a Dahua camera.
  if (entry.onvif) return { ok: true, code: "ok", summary: described, device, mainStream: undefined };
  try {
    const stream = await probeRtsp(entry.session, {
      host: entry.rtsp.host,
      port: entry.rtsp.port,
      path: entry.rtsp.main,
    });
    return {
      ok: true,
      code: "ok",
      summary: `${described}; main stream ${stream}`,
      device,
      mainStream: stream,
    };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return {
      ok: false,
      code: "rtsp",
      summary: `${described}, but its main stream cannot be read: ${message} (cameras.${entry.id}.rtsp)`,
      device,
      mainStream: undefined,
    };
  }
}

/** A camera not (yet) among camgate's, looked at through a session of its own, closed after. */
export async function probeConfiguredCamera(
  camera: CameraConfig,
  session: Partial<CameraSessionOptions> = {},
): Promise<CameraProbe> {
  const registry = new CameraRegistry([cameraDefinition(camera, session)]);
  try {
    const entry = registry.get(camera.id);
    if (!entry) throw new Error(`no entry for ${camera.id}`);
    return await probeCamera(entry);
  } finally {
    await registry.close();
  }
}
