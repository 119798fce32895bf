/** Starts emulated cameras and a gateway wired to them, on loopback ephemeral ports, for integration tests. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { type Camgate, createLogger, type StartOptions, startCamgate } from "../../src/app.ts";
import { type Config, configSchema } from "../../src/config/schema.ts";
import {
  type EmulatedCameraHandle,
  type EmulatorOptions,
  type ProfileName,
  startEmulator,
} from "../../src/emulator/index.ts";
import { startTestPostgres, type TestPostgres } from "./postgres.ts";

export const CAMERA_PASSWORD = "camera-secret-9f3";

export interface TestCamera {
  id: string;
  profile: ProfileName;
  emulator?: Partial<EmulatorOptions>;
  /** Extra camera config keys (maxConnections, passthroughPort, ...). */
  config?: Record<string, unknown>;
}

export interface TestGateway {
  camgate: Camgate;
  url: string;
  cameras: Map<string, EmulatedCameraHandle>;
  /** Everything the gateway logged, as text. */
  logs: () => string;
  storageDir: string;
  /** The config the gateway started with (a test changes a copy and reloads it). */
  config: Config;
  close(): Promise<void>;
}

/**
 * `CAMGATE_TEST_STORE=postgres`: every gateway keeps its shared records in PostgreSQL instead of SQLite (a
 * throwaway server per storage directory, kept across restarts on the same directory), as a single
 * instance of a cluster: the whole suite runs on both engines.
 */
const stores = new Map<string, TestPostgres>();
let exitHook = false;

async function storeFor(storageDir: string, options: { storage?: Record<string, unknown> }) {
  if (process.env.CAMGATE_TEST_STORE !== "postgres" || options.storage?.postgres) return undefined;
  let store = stores.get(storageDir);
  if (!store) {
    store = await startTestPostgres();
    stores.set(storageDir, store);
  }
  if (!exitHook) {
    exitHook = true;
    // Servers of kept directories end with the test process (pg_ctl runs synchronously).
    process.once("exit", () => {
      for (const server of stores.values()) void server.stop();
    });
  }
  return store;
}

/**
 * Stops the throwaway PostgreSQL of a storage directory a test kept (passed as `storageDir`), once the test
 * is done with the directory. The exit hook is a last resort: a test worker ended by a signal never runs it.
 */
export async function releaseStore(storageDir: string): Promise<void> {
  const store = stores.get(storageDir);
  stores.delete(storageDir);
  await store?.stop();
}

export async function startTestGateway(options: {
  cameras?: TestCamera[];
  users?: unknown[];
  server?: Record<string, unknown>;
  relay?: Record<string, unknown>;
  /** Event pipeline settings; the camera event streams are off unless a test asks for them. */
  events?: Record<string, unknown>;
  /** Recording settings; event clips are off unless a test asks for them. */
  recording?: Record<string, unknown>;
  webhooks?: unknown[];
  notify?: unknown[];
  mqtt?: Record<string, unknown>;
  smtp?: Record<string, unknown>;
  /** Backups and log sync are off unless a test asks for them (they would add camera requests). */
  backup?: Record<string, unknown>;
  logSync?: Record<string, unknown>;
  /** The security audit is off unless a test asks for it (it reads every camera and probes its ports). */
  audit?: Record<string, unknown>;
  syslog?: Record<string, unknown>;
  /** Use this storage directory (kept on close: the caller removes it), e.g. across a restart. */
  storageDir?: string;
  /** Storage settings beside the directory (`postgres`). */
  storage?: Record<string, unknown>;
  /** Use these emulated cameras (kept running on close) instead of starting new ones. */
  emulators?: Map<string, EmulatedCameraHandle>;
  /** Camera password in the gateway's config (default the emulators' own). */
  cameraPassword?: string;
  /** Start options beyond the logger (fault injection). */
  start?: Omit<StartOptions, "logger">;
}): Promise<TestGateway> {
  const specs = options.cameras ?? [{ id: "dogs", profile: "amcrest-ip2m-841b" }];
  const emulators = options.emulators
    ? []
    : await Promise.all(
        specs.map((spec) =>
          startEmulator({ profile: spec.profile, password: CAMERA_PASSWORD, ...spec.emulator }),
        ),
      );
  const cameras = new Map<string, EmulatedCameraHandle>(options.emulators ?? []);
  if (!options.emulators)
    for (const [i, spec] of specs.entries())
      cameras.set(spec.id, emulators[i]?.cameras[0] as EmulatedCameraHandle);
  const storageDir = options.storageDir ?? mkdtempSync(join(tmpdir(), "camgate-test-"));
  const removeStorage = () => {
    if (!options.storageDir) rmSync(storageDir, { recursive: true, force: true });
  };
  const postgres = await storeFor(storageDir, options);
  const config = configSchema.parse({
    server: { listen: "127.0.0.1:0", ...options.server },
    storage: {
      dir: storageDir,
      ...(postgres ? { postgres: { url: postgres.url, instance: "solo" } } : {}),
      ...options.storage,
    },
    relay: options.relay ?? {},
    // The SD card check (one request per camera every 10 min) is off unless a test asks for it, so tests
    // that count a camera's requests count only their own.
    events: { sdCard: { checkSeconds: 0 }, ...(options.events ?? { enabled: false }) },
    // Clips keep every camera's main stream open: off unless a test asks (request-counting tests count
    // only what they cause).
    recording: options.recording ?? { clips: { enabled: false } },
    webhooks: options.webhooks ?? [],
    notify: options.notify ?? [],
    ...(options.mqtt ? { mqtt: options.mqtt } : {}),
    ...(options.smtp ? { smtp: options.smtp } : {}),
    backup: options.backup ?? { enabled: false },
    logSync: options.logSync ?? { enabled: false },
    audit: options.audit ?? { enabled: false },
    ...(options.syslog ? { syslog: options.syslog } : {}),
    users: options.users ?? [],
    cameras: specs.map((spec) => ({
      id: spec.id,
      name: spec.id,
      url: cameras.get(spec.id)?.url,
      username: "admin",
      password: options.cameraPassword ?? CAMERA_PASSWORD,
      ...spec.config,
      rtsp: { port: cameras.get(spec.id)?.rtspPort || 554, ...(spec.config?.rtsp as object | undefined) },
    })),
  });
  let logged = "";
  const sink = new Writable({
    write(chunk, _encoding, callback) {
      logged += String(chunk);
      callback();
    },
  });
  let camgate: Camgate;
  try {
    camgate = await startCamgate(config, { ...options.start, logger: createLogger("debug", sink) });
  } catch (error) {
    await Promise.all(emulators.map((e) => e.close()));
    if (!options.storageDir) await releaseStore(storageDir);
    removeStorage();
    throw error;
  }
  return {
    camgate,
    url: camgate.url,
    cameras,
    logs: () => logged,
    storageDir,
    config,
    close: async () => {
      await camgate.close();
      await Promise.all(emulators.map((e) => e.close()));
      // A kept storage directory keeps its database for the next start (a restart test).
      if (!options.storageDir) await releaseStore(storageDir);
      removeStorage();
    },
  };
}
