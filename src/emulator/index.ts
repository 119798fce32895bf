/**
 * Public entry of the camera emulator: `startEmulator()` runs one or more emulated cameras and returns their
 * addresses, a control handle per camera and `close()`. Imports nothing of the gateway but `src/protocol/`.
 */
import { type AlarmMailTarget, EmulatedCamera, type EmulatedCameraOptions } from "./camera.ts";
import { CameraControl } from "./control.ts";
import { EmulatorDiscovery, type EmulatorDiscoveryOptions } from "./discovery-face.ts";
import type { ProfileName } from "./profiles.ts";

export type { EmulatorCounters } from "./camera.ts";
export { CameraControl } from "./control.ts";
export { readComment } from "./frame-renderer.ts";
export { isProfileName, PROFILES, type ProfileName } from "./profiles.ts";

export interface EmulatorOptions extends Omit<EmulatedCameraOptions, "unit" | "profile"> {
  profile: ProfileName;
  /** How many cameras; with a fixed port they take consecutive ports. */
  count?: number;
  /**
   * Answer discovery (DHDiscover on UDP 37810, WS-Discovery on 3702) for these cameras, on every address of
   * the host: only in a network namespace of its own (docs/emulator.md).
   */
  discovery?: EmulatorDiscoveryOptions | true;
}

export interface EmulatedCameraHandle {
  url: string;
  host: string;
  port: number;
  /** The camera's RTSP port (0 when its RTSP face is off). */
  rtspPort: number;
  serial: string;
  realm: string;
  control: CameraControl;
  camera: EmulatedCamera;
}

export interface RunningEmulator {
  cameras: EmulatedCameraHandle[];
  ports: number[];
  close(): Promise<void>;
}

export async function startEmulator(options: EmulatorOptions): Promise<RunningEmulator> {
  const count = Math.max(1, options.count ?? 1);
  const cameras: EmulatedCamera[] = [];
  try {
    for (let unit = 0; unit < count; unit++) {
      const port = options.port === undefined || options.port === 0 ? 0 : options.port + unit;
      // A fixed RTSP port is the first camera's; the others take the ports after it.
      const rtspPort = options.rtsp ? options.rtsp.port : undefined;
      const rtsp =
        options.rtsp && rtspPort !== undefined && rtspPort !== 0
          ? { ...options.rtsp, port: rtspPort + unit }
          : options.rtsp;
      const camera = new EmulatedCamera({ ...options, unit, port, ...(rtsp !== undefined ? { rtsp } : {}) });
      cameras.push(camera);
      await camera.listen();
    }
  } catch (error) {
    await Promise.allSettled(cameras.map((camera) => camera.close()));
    throw error;
  }
  const discovery = options.discovery
    ? new EmulatorDiscovery(cameras, options.discovery === true ? {} : options.discovery)
    : undefined;
  try {
    await discovery?.listen();
  } catch (error) {
    await Promise.allSettled([discovery?.close(), ...cameras.map((camera) => camera.close())]);
    throw error;
  }
  const handles = cameras.map((camera) => ({
    get url() {
      return camera.url;
    },
    host: camera.host,
    get port() {
      return camera.port;
    },
    get rtspPort() {
      return camera.rtspPort;
    },
    serial: camera.serial,
    realm: camera.realm,
    control: new CameraControl(camera),
    camera,
  }));
  return {
    cameras: handles,
    ports: cameras.map((camera) => camera.port),
    close: async () => {
      await Promise.allSettled([discovery?.close(), ...cameras.map((camera) => camera.close())]);
    },
  };
}

/** `smtp://user:pass@127.0.0.1:2525` (or `smtps://` for implicit TLS) → the camera's SMTP settings. */
export function parseSmtpUrl(url: string): AlarmMailTarget {
  const parsed = new URL(url);
  if (parsed.protocol !== "smtp:" && parsed.protocol !== "smtps:") {
    throw new Error(`--smtp must be smtp://user:pass@host:port or smtps://..., got ${parsed.protocol}`);
  }
  const secure = parsed.protocol === "smtps:";
  return {
    host: parsed.hostname.replace(/^\[|\]$/g, ""),
    port: parsed.port === "" ? (secure ? 465 : 25) : Number(parsed.port),
    username: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
    secure,
  };
}
