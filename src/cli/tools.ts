/** `camgate snapshot`, `camgate ptz`, `camgate config check [--probe]`, `camgate token create`. */
import { writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { cameraDefinition } from "../camera/definition-from-config.ts";
import { CameraError } from "../camera/errors.ts";
import { parsePtzWords } from "../camera/ptz.ts";
import { type CameraEntry, CameraRegistry } from "../camera/registry.ts";
import { probeRtsp } from "../camera/rtsp-probe.ts";
import { loadConfigFile } from "../config/load.ts";
import type { Config } from "../config/schema.ts";
import { createToken, hashPassword } from "../server/auth/secrets.ts";
import { authFailureMemory } from "../storage/auth-failures.ts";
import { openDatabase } from "../storage/database.ts";

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

export function runConfigCheck(file: string, out: NodeJS.WritableStream): Config {
  const config = loadConfigFile(file);
  out.write(`${file}: ok (${config.cameras.length} camera(s), ${config.users.length} user(s))\n`);
  return config;
}

interface ProbeResult {
  camera: string;
  ok: boolean;
  line: string;
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
    const results = await Promise.all(registry.list().map((entry) => probeCamera(entry)));
    const width = Math.max(...results.map((r) => r.camera.length), 6);
    for (const result of results) out.write(`  ${result.camera.padEnd(width)}  ${result.line}\n`);
    return results.every((result) => result.ok);
  } finally {
    await registry.close();
    db.close();
  }
}

async function probeCamera(entry: CameraEntry): Promise<ProbeResult> {
  const where = new URL(entry.session.origin).host;
  try {
    const info = await (entry.onvif ? entry.onvif.deviceInfo() : entry.api.deviceInfo());
    const name = info.machineName ? `, named ${info.machineName}` : "";
    const device = `${info.vendor ?? "Amcrest/Dahua"} ${info.type}, firmware ${info.softwareVersion}${name} (${where})`;
    // The main stream too: HTTP that answers says nothing of the RTSP port (issue 27). An ONVIF camera's
    // stream is where its profile says; this look is for the configured RTSP of a Dahua camera.
    if (entry.onvif) return { camera: entry.id, ok: true, line: `ok           ${device}` };
    try {
      const stream = await probeRtsp(entry.session, {
        host: entry.rtsp.host,
        port: entry.rtsp.port,
        path: entry.rtsp.main,
      });
      return { camera: entry.id, ok: true, line: `ok           ${device}; main stream ${stream}` };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return {
        camera: entry.id,
        ok: false,
        line: `rtsp         ${device}, but its main stream cannot be read: ${message} (cameras.${entry.id}.rtsp)`,
      };
    }
  } catch (error) {
    const code = error instanceof CameraError ? error.code : "error";
    const message = error instanceof Error ? error.message : String(error);
    const advice =
      code === "auth-failed"
        ? `: fix cameras.${entry.id}.username/password (camgate tries this camera again only after its backoff, so it never locks you out)`
        : code === "unreachable" || code === "timeout"
          ? `: is ${where} the camera's address, and is it on?`
          : "";
    return { camera: entry.id, ok: false, line: `${code.padEnd(12)} ${message}${advice}` };
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
