/**
 * camgate started from a camgate.yaml in a directory of its own (what `camgate serve -c` does), for tests
 * of what changes the file: two emulated cameras, the first in the file, the second ready to be added.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Camgate, createLogger, startCamgate } from "../../src/app.ts";
import { loadConfigFile } from "../../src/config/load.ts";
import { type EmulatedCameraHandle, startEmulator } from "../../src/emulator/index.ts";
import { CAMERA_PASSWORD } from "./gateway.ts";

export interface FileGateway {
  camgate: Camgate;
  dir: string;
  file: string;
  /** The file as it was written before camgate started. */
  original: string;
  /** In the file as `yard`. */
  yard: EmulatedCameraHandle;
  /** Not in the file: for a test to add. */
  spare: EmulatedCameraHandle;
  close(): Promise<void>;
}

/** `users`: YAML list items of the `users:` section (default: alice, admin; victor, viewer). */
export async function startFileGateway(
  users = [
    "  - name: alice # the owner",
    "    role: admin",
    "    password: alice-settings-pw",
    "  - name: victor",
    "    role: viewer",
    "    password: victor-settings-pw",
  ],
): Promise<FileGateway> {
  const dir = await mkdtemp(join(tmpdir(), "camgate-file-"));
  const file = join(dir, "camgate.yaml");
  const emulators = await startEmulator({ profile: "dahua-2024", password: CAMERA_PASSWORD, count: 2 });
  const [yard, spare] = emulators.cameras as [EmulatedCameraHandle, EmulatedCameraHandle];
  const original = `# camgate for the house: edited by hand and from the UI
server:
  listen: 127.0.0.1:0

storage:
  dir: ./data # beside this file

users:${users.length === 0 ? " []" : `\n${users.join("\n")}`}

cameras:
  # The yard camera, wired.
  - id: yard
    url: ${yard.url}
    username: admin
    password: ${CAMERA_PASSWORD}
    rtsp:
      port: ${yard.rtspPort}
`;
  await writeFile(file, original);
  let camgate: Camgate;
  try {
    camgate = await startCamgate(loadConfigFile(file), {
      configFile: file,
      baseDir: dir,
      logger: createLogger("silent"),
    });
  } catch (error) {
    await emulators.close();
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    camgate,
    dir,
    file,
    original,
    yard,
    spare,
    close: async () => {
      await camgate.close();
      await emulators.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
