/** A configured camera as the camera layer wants it (one mapping for the gateway and the CLI tools). */
import type { CameraConfig } from "../config/schema.ts";
import type { CameraDefinition } from "./registry.ts";
import type { CameraSessionOptions } from "./session.ts";

export function cameraDefinition(
  camera: CameraConfig,
  extra: Partial<CameraSessionOptions> = {},
): CameraDefinition {
  return {
    id: camera.id,
    name: camera.name ?? camera.id,
    groups: camera.groups ?? [],
    mjpeg: camera.mjpeg,
    rtsp: { host: new URL(camera.url).hostname.replace(/^\[|\]$/g, ""), ...camera.rtsp },
    ...(camera.passthroughPort !== undefined ? { passthroughPort: camera.passthroughPort } : {}),
    ...(camera.rtspPassthroughPort !== undefined ? { rtspPassthroughPort: camera.rtspPassthroughPort } : {}),
    ...(camera.onvifPort !== undefined ? { onvifPort: camera.onvifPort } : {}),
    protocol: camera.protocol,
    onvifDevicePath: camera.onvifDevicePath,
    talk: camera.talk,
    session: {
      id: camera.id,
      url: camera.url,
      username: camera.username,
      password: camera.password,
      maxConnections: camera.maxConnections,
      queueTimeoutMs: camera.queueTimeoutMs,
      ...(camera.timeouts ? { timeouts: camera.timeouts } : {}),
      ...extra,
    },
  };
}
