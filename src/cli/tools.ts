/** `camgate snapshot`, `camgate ptz`, `camgate config check`, `camgate token create`. */
import { writeFileSync } from "node:fs";
import type { PtzDirection } from "../camera/api.ts";
import { CameraRegistry } from "../camera/registry.ts";
import { cameraDefinition } from "../config/camera-definitions.ts";
import { loadConfigFile } from "../config/load.ts";
import type { Config } from "../config/schema.ts";
import { createToken, hashPassword } from "../server/auth/secrets.ts";

function registryFor(config: Config, id: string): CameraRegistry {
  const camera = config.cameras.find((c) => c.id === id);
  if (!camera)
    throw new Error(
      `no camera "${id}" in the config (have: ${config.cameras.map((c) => c.id).join(", ") || "none"})`,
    );
  return new CameraRegistry([cameraDefinition(camera)]);
}

export async function runSnapshot(
  camera: string,
  flags: { config: string; output: string; channel: string },
  out: NodeJS.WritableStream,
): Promise<void> {
  const registry = registryFor(loadConfigFile(flags.config), camera);
  try {
    const jpeg = await registry.get(camera)?.api.snapshot(Number(flags.channel));
    if (!jpeg) throw new Error("no snapshot");
    writeFileSync(flags.output, jpeg);
    out.write(`${flags.output}: ${jpeg.length} bytes\n`);
  } finally {
    await registry.close();
  }
}

const MOVES = ["up", "down", "left", "right", "leftup", "rightup", "leftdown", "rightdown"];

export async function runPtz(
  camera: string,
  command: string,
  arg: string | undefined,
  flags: { config: string; speed: string; duration: string },
  out: NodeJS.WritableStream,
): Promise<void> {
  const registry = registryFor(loadConfigFile(flags.config), camera);
  const api = registry.get(camera)?.api;
  if (!api) throw new Error(`no camera ${camera}`);
  try {
    if (MOVES.includes(command)) {
      await api.ptzMove(command as PtzDirection, Number(flags.speed));
      await new Promise((resolve) => setTimeout(resolve, Number(flags.duration)));
      await api.ptzStop(command as PtzDirection);
    } else if (command === "zoomin" || command === "zoomout") {
      await api.ptzZoom(command === "zoomin" ? "in" : "out");
      await new Promise((resolve) => setTimeout(resolve, Number(flags.duration)));
      await api.ptzStop(command);
    } else if (command === "stop") {
      await api.ptzStop();
    } else if (command === "preset") {
      const preset = Number(arg);
      if (!Number.isInteger(preset) || preset < 1)
        throw new Error("usage: camgate ptz <camera> preset <number>");
      await api.ptzGotoPreset(preset);
    } else if (command === "status") {
      out.write(
        `${JSON.stringify({ status: await api.ptzStatus(), presets: await api.ptzPresets() }, null, 2)}\n`,
      );
      return;
    } else {
      throw new Error(
        `unknown PTZ command "${command}": use ${[...MOVES, "zoomin", "zoomout", "stop", "preset N", "status"].join(", ")}`,
      );
    }
    out.write("ok\n");
  } finally {
    await registry.close();
  }
}

export function runConfigCheck(file: string, out: NodeJS.WritableStream): void {
  const config = loadConfigFile(file);
  out.write(`${file}: ok (${config.cameras.length} camera(s), ${config.users.length} user(s))\n`);
}

export function runTokenCreate(flags: { password?: string }, out: NodeJS.WritableStream): void {
  if (flags.password !== undefined) {
    out.write(`${hashPassword(flags.password)}\n`);
    return;
  }
  const { token, hash } = createToken();
  out.write(
    `token: ${token}\nhash:  ${hash}\n\nGive the token to the user; put the hash in camgate.yaml (users[].token).\n`,
  );
}
