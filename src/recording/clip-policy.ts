/** Which events make clips: the camera's own `recording` settings over `recording.clips`. Pure. */
import type { Config } from "../config/schema.ts";

function cameraClips(config: Config, camera: string) {
  return config.cameras.find((c) => c.id === camera)?.recording;
}

/** Whether the camera records clips at all. */
export function clipsEnabled(config: Config, camera: string): boolean {
  return cameraClips(config, camera)?.clips ?? config.recording.clips.enabled;
}

/** Whether an event of this code on this camera makes a clip. */
export function clipWanted(config: Config, camera: string, code: string): boolean {
  const codes = cameraClips(config, camera)?.clipCodes ?? config.recording.clips.codes;
  return clipsEnabled(config, camera) && codes.some((c) => c === "*" || c === code);
}
