/** `camgate snapshot`, `camgate ptz`, `camgate config check`, `camgate token create`. */
import { writeFileSync } from "node:fs";
import { cameraDefinition } from "../camera/definition-from-config.ts";
import { parsePtzWords } from "../camera/ptz.ts";
import { CameraRegistry } from "../camera/registry.ts";
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

/**
 * `camgate ptz <camera> <command> [arg]`: the words of the PTZ vocabulary (`left`, `zoomin`, `stop`,
 * `preset 2`), moves and zooms lasting `--duration`; or `status`.
 */
export async function runPtz(
  camera: string,
  command: string,
  arg: string | undefined,
  flags: { config: string; speed: string; duration: string },
  out: NodeJS.WritableStream,
): Promise<void> {
  const registry = registryFor(loadConfigFile(flags.config), camera);
  const ptz = registry.get(camera)?.ptz;
  if (!ptz) throw new Error(`no camera ${camera}`);
  try {
    if (command === "status") {
      out.write(`${JSON.stringify({ status: await ptz.status(), presets: await ptz.presets() }, null, 2)}\n`);
      return;
    }
    const outcome = await ptz.run(
      parsePtzWords(arg === undefined ? command : `${command} ${arg}`, {
        speed: Number(flags.speed),
        durationMs: Number(flags.duration),
      }),
    );
    // A timed move: the process stays until its stop has gone out.
    await outcome.stopped;
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
