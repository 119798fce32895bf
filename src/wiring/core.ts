/**
 * The core every part is built on: the running config, the logger, the storage (SQLite, and PostgreSQL for
 * several instances), the signing key, the camera registry and the addresses camgate listens on once it
 * does. It is the first part: it closes last (the cameras, then the databases).
 */
import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { hostname } from "node:os";
import { join, resolve } from "node:path";
import type { Logger } from "pino";
import { cameraDefinition } from "../camera/definition-from-config.ts";
import { CameraRegistry } from "../camera/registry.ts";
import { clusterSecret, PeerDirectory } from "../cluster/peer-directory.ts";
import type { CameraConfig, Config } from "../config/schema.ts";
import { UrlSigner } from "../protocol/signed-url.ts";
import { FailureLimiter } from "../server/auth/rate-limit.ts";
import type { GatewayContext } from "../server/context.ts";
import type { HttpsOptions } from "../server/gateway-server.ts";
import { GatewayMetrics } from "../server/metrics.ts";
import { authFailureMemory } from "../storage/auth-failures.ts";
import { type Db, openDatabase } from "../storage/database.ts";
import { openPostgres, type PostgresStore } from "../storage/postgres.ts";
import { postgresSql } from "../storage/postgres-sql.ts";
import { loadOrCreateSigningKey, sharedSigningKey } from "../storage/signing-key.ts";
import type { Sql } from "../storage/sql.ts";
import { SqliteSql } from "../storage/sqlite-sql.ts";
import { errorText } from "../util/error-text.ts";
import { logHealth } from "./camera-health-log.ts";
import { createLogger, type StartOptions, StartupError } from "./camgate.ts";
import type { Part } from "./part.ts";
import { httpsOptions } from "./tls.ts";

/** Where camgate listens, filled in as each listener binds (read by links made later). */
export interface Addresses {
  /** The main server's base URL (`http://127.0.0.1:8080`); empty until it listens. */
  url: string;
  /** camgate's RTSP server, once it listens. */
  rtsp?: { url: string; scheme: "rtsp" | "rtsps"; port: number };
}

export interface Core extends Part {
  config: Config;
  options: StartOptions;
  logger: Logger;
  storageDir: string;
  https: HttpsOptions | undefined;
  metrics: GatewayMetrics;
  db: Db;
  pgStore: PostgresStore | undefined;
  sql: Sql;
  /** This instance's name in a cluster (`storage.postgres`), else undefined. */
  instance: string | undefined;
  signingKey: Buffer;
  signer: UrlSigner;
  peers: PeerDirectory | undefined;
  cameras: CameraRegistry;
  /** A camera's definition from its config, reached through its owner until this instance owns it. */
  define: (camera: CameraConfig) => ReturnType<typeof cameraDefinition>;
  /** Cameras whose main stream stays open with no viewer (updated by a reload). */
  preload: Set<string>;
  loginLimiter: FailureLimiter;
  addresses: Addresses;
  /** The cluster coordinator, once it runs (shared with the HTTP routes). */
  cluster: GatewayContext["cluster"];
}

async function openStores(config: Config, db: Db) {
  const clusterConfig = config.storage.postgres;
  let pgStore: PostgresStore | undefined;
  try {
    pgStore = clusterConfig ? await openPostgres(clusterConfig.url) : undefined;
  } catch (error) {
    db.close();
    throw new StartupError(`storage.postgres.url: cannot use the database (${errorText(error)})`);
  }
  const instance = clusterConfig
    ? (clusterConfig.instance ?? `${hostname()}-${randomBytes(3).toString("hex")}`)
    : undefined;
  // Events, incidents and deliveries: in the cluster's PostgreSQL, or this instance's SQLite file.
  const sql: Sql = pgStore ? postgresSql(pgStore.pool) : new SqliteSql(db);
  return { pgStore, instance, sql };
}

export async function openCore(given: Config, options: StartOptions): Promise<Core> {
  // The running config: its camera and user lists are updated in place by a reload, so every part that
  // holds `config` sees the cameras as they are now.
  const config: Config = { ...given, cameras: [...given.cameras], users: [...given.users] };
  const baseDir = options.baseDir ?? process.cwd();
  const logger = options.logger ?? createLogger(config.log.level);
  const storageDir = resolve(baseDir, config.storage.dir);
  mkdirSync(storageDir, { recursive: true });
  const https = httpsOptions(config, baseDir);
  const metrics = new GatewayMetrics();
  const db = openDatabase(join(storageDir, "camgate.db"));
  const { pgStore, instance, sql } = await openStores(config, db);
  // One key for every instance's signed URLs (and the hop between them), else this instance's own.
  const ownKey = loadOrCreateSigningKey(storageDir);
  const signingKey = pgStore ? await sharedSigningKey(sql, ownKey) : ownKey;
  // With several instances, a camera owned elsewhere is reached through its owner (cluster/peer-directory).
  const signer = new UrlSigner(signingKey);
  const peers = instance ? new PeerDirectory(instance, signer, clusterSecret(signingKey)) : undefined;
  const define = (camera: CameraConfig) =>
    cameraDefinition(camera, {
      onCall: metrics.callObserver(camera.id),
      log: (level, message, fields) => logger[level](fields, message),
      authMemory: authFailureMemory(db, camera.id, new URL(camera.url).origin),
      ...(peers ? { route: peers.route(camera.id) } : {}),
    });
  const cameras = new CameraRegistry(config.cameras.map(define));
  cameras.watch({ health: (entry, health, previous) => logHealth(logger, entry.id, health, previous) });
  metrics.watch(cameras);
  return {
    name: "core",
    config,
    options,
    logger,
    storageDir,
    https,
    metrics,
    db,
    pgStore,
    sql,
    instance,
    signingKey,
    signer,
    peers,
    cameras,
    define,
    addresses: { url: "" },
    cluster: { coordinator: undefined },
    preload: new Set(config.cameras.filter((camera) => camera.preload).map((camera) => camera.id)),
    loginLimiter: new FailureLimiter(
      config.server.authRateLimit.failures,
      config.server.authRateLimit.windowSeconds * 1000,
    ),
    async close() {
      await cameras.close();
      db.close();
      await pgStore?.close().catch(() => undefined);
    },
  };
}
