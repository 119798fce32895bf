/** `camgate snapshot`, `camgate ptz`, `camgate config check [--probe]`, `camgate token create`. */
import { accessSync, constants, existsSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { probeCamera } from "../camera/camera-probe.ts";
import { cameraDefinition } from "../camera/definition-from-config.ts";
import { parsePtzWords } from "../camera/ptz.ts";
import { CameraRegistry } from "../camera/registry.ts";
import { ConfigError, loadConfigFile } from "../config/load.ts";
import type { Config } from "../config/schema.ts";
import { createToken, hashPassword } from "../server/auth/secrets.ts";
import { authFailureMemory } from "../storage/auth-failures.ts";
import { openDatabase } from "../storage/database.ts";
import { httpsOptions } from "../wiring/tls.ts";

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
    const entry = registry.get(camera);
    const jpeg = entry?.onvif
      ? await entry.onvif.snapshot("main")
      : await entry?.api.snapshot(Number(flags.channel));
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

/**
 * `config check`: the file validates, and what camgate reads and writes at start can be, by the user running
 * the check: the TLS files (a root-only key and a service's own user: `ExecStartPre=` of the systemd unit
 * runs this check as that user, with its credentials) and the storage directory.
 */
export function runConfigCheck(file: string, out: NodeJS.WritableStream): Config {
  const config = loadConfigFile(file);
  const baseDir = dirname(resolve(file));
  const problems: string[] = [];
  const who = typeof process.getuid === "function" ? ` as uid ${process.getuid()}` : "";
  try {
    httpsOptions(config, baseDir);
  } catch (error) {
    problems.push(
      `${file}: ${error instanceof Error ? error.message : String(error)}${who} (under systemd, hand root-only files to the service with LoadCredential=: contrib/systemd/camgate.service)`,
    );
  }
  const storage = resolve(baseDir, config.storage.dir);
  const existing = existsSync(storage) ? storage : dirname(storage);
  try {
    accessSync(existing, constants.W_OK);
  } catch (error) {
    problems.push(
      `${file}: storage.dir: cannot write ${existing} (${(error as NodeJS.ErrnoException).code ?? String(error)})${who}`,
    );
  }
  if (problems.length > 0) throw new ConfigError(problems);
  out.write(`${file}: ok (${config.cameras.length} camera(s), ${config.users.length} user(s))\n`);
  return config;
}

/**
 * `config check --probe`: one login per camera, never more. A refusal camgate remembers (in its database,
 * from the gateway or an earlier probe) is reported without trying again until its backoff ends, and a new
 * refusal is remembered for the gateway, so probing can never add up to a lockout.
 */
export async function runConfigProbe(file: string, out: NodeJS.WritableStream): Promise<boolean> {
  const config = runConfigCheck(file, out);
  const db = openDatabase(join(resolve(dirname(resolve(file)), config.storage.dir), "camgate.db"));
  const registry = new CameraRegistry(
    config.cameras.map((camera) =>
      cameraDefinition(camera, {
        authMemory: authFailureMemory(db, camera.id, new URL(camera.url).origin),
      }),
    ),
  );
  try {
    const entries = registry.list();
    const results = await Promise.all(entries.map((entry) => probeCamera(entry)));
    const width = Math.max(...entries.map((entry) => entry.id.length), 6);
    for (const [i, result] of results.entries())
      out.write(`  ${(entries[i]?.id ?? "").padEnd(width)}  ${result.code.padEnd(12)} ${result.summary}\n`);
    return results.every((result) => result.ok);
  } finally {
    await registry.close();
    db.close();
  }
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
