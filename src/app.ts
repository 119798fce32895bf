/**
 * The composition root: builds every part from the config and wires them together. No module state; the
 * returned handle's close() ends everything it started.
 */

import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import { isIPv4 } from "node:net";
import { hostname } from "node:os";
import { join, resolve } from "node:path";
import type { FastifyInstance } from "fastify";
import pino, { type Logger } from "pino";
import { BackupModule } from "./backup/backup-module.ts";
import { cameraDefinition } from "./camera/definition-from-config.ts";
import { OwnedCameras } from "./camera/owned-cameras.ts";
import { type CameraEntry, CameraRegistry, type CameraSet } from "./camera/registry.ts";
import type { Health, SessionRoute } from "./camera/session.ts";
import { ClusterCoordinator } from "./cluster/coordinator.ts";
import { announceEvent, ClusterEventRelay } from "./cluster/event-relay.ts";
import { CLUSTER_USER, clusterSecret, PeerDirectory } from "./cluster/peer-directory.ts";
import { formatListen } from "./config/listen.ts";
import { ConfigError, loadConfigFile } from "./config/load.ts";
import { NoConfigFileError, planIsEmpty, planReload, type ReloadSummary } from "./config/reload-plan.ts";
import type { CameraConfig, Config } from "./config/schema.ts";
import { effectiveRtspAuthMethods, formatConfigPath, validateConfig } from "./config/validate.ts";
import { EventPipeline } from "./events/pipeline.ts";
import type { OpenForWriting } from "./recording/clip-file.ts";
import { ClipRecorder } from "./recording/clip-recorder.ts";
import { RecordingIndex } from "./recording/recording-index.ts";
import { repairRecordings } from "./recording/repair.ts";
import { RecordingRetention } from "./recording/retention.ts";
import { SegmentRecorder } from "./recording/segment-recorder.ts";
import { EventStreams } from "./relay/event-stream-hub.ts";
import { HubRegistry } from "./relay/hub-registry.ts";
import { SnapshotService } from "./relay/snapshot.ts";
import { StreamHubs } from "./relay/stream-hubs.ts";
import { Talks } from "./relay/talk.ts";
import { Authenticator } from "./server/auth/authenticator.ts";
import { FailureLimiter } from "./server/auth/rate-limit.ts";
import { SessionStore } from "./server/auth/sessions.ts";
import { loadOrCreateSigningKey, sharedSigningKey, UrlSigner } from "./server/auth/signed-url.ts";
import type { GatewayContext } from "./server/context.ts";
import { buildMainApp, buildPassthroughApp, type HttpsOptions } from "./server/gateway-server.ts";
import { GatewayMetrics } from "./server/metrics.ts";
import { OnvifFaces } from "./server/onvif/onvif-faces.ts";
import { RtspAuthenticator } from "./server/rtsp/rtsp-auth.ts";
import { CamgateRtspServer } from "./server/rtsp/rtsp-server.ts";
import { StreamAllowance } from "./server/stream-allowance.ts";
import { WebRtcSessions } from "./server/webrtc/sessions.ts";
import { authFailureMemory } from "./storage/auth-failures.ts";
import { type Db, openDatabase } from "./storage/database.ts";
import { openPostgres, type PostgresStore } from "./storage/postgres.ts";
import { postgresSql } from "./storage/postgres-sql.ts";
import type { Sql } from "./storage/sql.ts";
import { SqliteSql } from "./storage/sqlite-sql.ts";
import { VERSION } from "./version.ts";

export { VERSION };

/** camgate cannot start with this config or environment; the message says what to change. */
export class StartupError extends Error {
  readonly code = "refused-to-start";
  constructor(message: string) {
    super(message);
    this.name = "StartupError";
  }
}

export interface Camgate {
  events: EventPipeline;
  backups: BackupModule;
  /** Base URL of the main server, e.g. http://127.0.0.1:8080 */
  url: string;
  /** Camera id → base URL of its passthrough port. */
  passthroughUrls: Record<string, string>;
  /** Base URL of camgate's RTSP server (`rtsp://127.0.0.1:8554`), when it runs. */
  rtspUrl: string | undefined;
  /** Camera id → the RTSP URL of its own port (`rtspPassthroughPort`). */
  rtspPassthroughUrls: Record<string, string>;
  /** Camera id → its ONVIF device service (`cameras[].onvifPort`). */
  onvifUrls: Record<string, string>;
  /** The UDP port answering directed WS-Discovery probes, when any camera has an ONVIF face. */
  onvifDiscoveryPort: number | undefined;
  streams: StreamHubs;
  /** camgate's RTSP server, when `server.rtsp` is set. */
  rtspServer: CamgateRtspServer | undefined;
  /** The WebRTC viewers, when `server.webrtc.enabled`. */
  webrtc: WebRtcSessions | undefined;
  cameras: CameraRegistry;
  /** This instance's part in the cluster, when `storage.postgres` is set. */
  readonly cluster: ClusterCoordinator | undefined;
  /** The SQLite database (events, deliveries, camera logs). */
  db: Db;
  logger: Logger;
  /**
   * Applies a new config without a restart (cameras and users live; see config/reload-plan.ts). A config
   * that does not validate throws a `ConfigError` with every problem, and the running config stays.
   */
  reload(next: Config): Promise<ReloadSummary>;
  /** Reads the config file again (SIGHUP, `POST /api/v1/config/reload`); throws without a file. */
  reloadFromFile(): Promise<ReloadSummary>;
  close(): Promise<void>;
}

export interface StartOptions {
  /** Where relative paths in the config (TLS files, storage) are resolved; default the working directory. */
  baseDir?: string;
  logger?: Logger;
  /** The file the config came from, for reloads. */
  configFile?: string;
  /** Fault injection for tests: how recording opens its files, and its pause after a full disk. */
  recordingFaults?: { openFile?: OpenForWriting; diskFullPauseMs?: number };
}

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  const options: pino.LoggerOptions = {
    level,
    // No credential, token or camera password ever reaches a log line.
    redact: {
      paths: [
        "req.headers.authorization",
        "req.headers.cookie",
        "headers.authorization",
        "*.password",
        "*.token",
        "password",
        "token",
      ],
      censor: "[redacted]",
    },
  };
  return destination ? pino(options, destination) : pino(options);
}

function httpsOptions(config: Config, baseDir: string): HttpsOptions | undefined {
  const tls = config.server.tls;
  if (!tls) return undefined;
  const read = (file: string, what: string) => {
    try {
      return readFileSync(resolve(baseDir, file));
    } catch (error) {
      throw new StartupError(
        `server.tls.${what}: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
      );
    }
  };
  return {
    cert: read(tls.cert, "cert"),
    key: read(tls.key, "key"),
    ...(tls.clientCa ? { ca: read(tls.clientCa, "clientCa") } : {}),
    requestCert: tls.clientCa !== undefined,
    rejectUnauthorized: tls.clientCa !== undefined && tls.requireClientCert,
  };
}

/** The RTSP methods in force; Basic left out in clear text across a network is said once, at start. */
function rtspAuthMethods(config: Config, logger: Logger): ("basic" | "digest")[] {
  const methods = effectiveRtspAuthMethods(config);
  if (config.server.rtsp?.authMethods.includes("basic") && !methods.includes("basic"))
    logger.warn(
      { listen: formatListen(config.server.rtsp.listen) },
      "RTSP Basic authentication is off: this listener is not loopback and has no TLS (Digest stays on)",
    );
  return methods;
}

/** A bound URL as another machine can use it: a wildcard address becomes this machine's name. */
function reachableUrl(bound: string): string {
  const url = new URL(bound);
  if (url.hostname === "0.0.0.0" || url.hostname === "[::]") url.hostname = hostname();
  return url.toString().replace(/\/$/, "");
}

/** The RTSP base URL to hand out: the listen address, or the public host when it listens on every address. */
function rtspLinkFor(scheme: string, host: string, port: number, publicUrl: string): string {
  const wildcard = host === "0.0.0.0" || host === "::";
  const shown = wildcard ? new URL(publicUrl).hostname.replace(/^\[|\]$/g, "") : host;
  return `${scheme}://${formatListen({ host: shown, port })}`;
}

async function listenRtsp(
  listen: () => Promise<number>,
  what: string,
  host: string,
  port: number,
): Promise<number> {
  try {
    return await listen();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new StartupError(
      code === "EADDRINUSE"
        ? `${what}: ${host}:${port} is already in use`
        : `${what}: cannot listen on ${host}:${port} (${code ?? String(error)})`,
    );
  }
}

async function listen(app: FastifyInstance, host: string, port: number, what: string): Promise<number> {
  try {
    await app.listen({ host, port });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new StartupError(
      code === "EADDRINUSE"
        ? `${what}: ${host}:${port} is already in use`
        : `${what}: cannot listen on ${host}:${port} (${code ?? String(error)})`,
    );
  }
  const address = app.server.address();
  return typeof address === "object" && address ? address.port : port;
}

/** A camera's health change as one log line with the camera and the reason (the API shows the same). */
function logHealth(logger: Logger, camera: string, health: Health, previous: Health): void {
  const reason = health.reason;
  switch (health.state) {
    case "offline":
      logger.warn({ camera, reason }, "camera offline");
      break;
    case "auth-failed":
      logger.warn(
        {
          camera,
          reason,
          retryInSeconds:
            health.retryAt === undefined
              ? undefined
              : Math.max(0, Math.round((health.retryAt - Date.now()) / 1000)),
          fix: `cameras.${camera}.password`,
          cause: health.cause,
        },
        health.cause === "locked-out"
          ? "camera refused credentials that worked: it has locked camgate out (or its password changed); camgate makes no attempt before the lock ends"
          : "camera refused camgate's password; camgate waits before it tries again, so the camera does not lock you out",
      );
      break;
    case "busy":
      logger.warn({ camera, reason }, "camera busy: all of camgate's connections to it are in use");
      break;
    case "online":
      logger.info(
        { camera, ...(previous.state !== "unknown" ? { after: previous.state } : {}) },
        previous.state === "unknown" ? "camera online" : "camera online again",
      );
      break;
    case "unknown":
      logger.info({ camera, reason }, "camera state unknown until the next call");
      break;
  }
}

/**
 * Why camgate would refuse to start with this config: the same validation `camgate config check` runs (a
 * config from a file has passed it already, with line numbers).
 */
export function startupProblems(config: Config): string[] {
  return validateConfig(config).map((issue) => `${formatConfigPath(issue.path)}: ${issue.message}`);
}

const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error));

export async function startCamgate(given: Config, options: StartOptions = {}): Promise<Camgate> {
  const problems = startupProblems(given);
  if (problems.length > 0) throw new StartupError(problems.join("\n"));
  // The running config: its camera and user lists are updated in place by a reload, so every part that holds
  // `config` sees the cameras as they are now.
  const config: Config = { ...given, cameras: [...given.cameras], users: [...given.users] };
  const baseDir = options.baseDir ?? process.cwd();
  const logger = options.logger ?? createLogger(config.log.level);
  const storageDir = resolve(baseDir, config.storage.dir);
  mkdirSync(storageDir, { recursive: true });
  const https = httpsOptions(config, baseDir);
  const metrics = new GatewayMetrics();
  const db = openDatabase(join(storageDir, "camgate.db"));
  const defineCamera = (camera: CameraConfig, route: SessionRoute | undefined) =>
    cameraDefinition(camera, {
      onCall: metrics.callObserver(camera.id),
      log: (level, message, fields) => logger[level](fields, message),
      authMemory: authFailureMemory(db, camera.id, new URL(camera.url).origin),
      ...(route ? { route } : {}),
    });
  // Several instances (storage.postgres): a camera joins this registry only while this instance owns it.
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
  // One key for every instance's signed URLs (and the hop between them), else this instance's own.
  const ownKey = loadOrCreateSigningKey(storageDir);
  const signingKey = pgStore ? await sharedSigningKey(sql, ownKey) : ownKey;
  const signer = new UrlSigner(signingKey);
  // With several instances, a camera owned elsewhere is reached through its owner (cluster/peer-directory).
  const peers = instance ? new PeerDirectory(instance, signer, clusterSecret(signingKey)) : undefined;
  // Every camera starts reached through its owner; it is reached directly once this instance owns it.
  const define = (camera: CameraConfig) => defineCamera(camera, peers?.route(camera.id));
  const cameras = new CameraRegistry(config.cameras.map(define));
  // What happens once per camera (its events, backups, recording) runs on the instance that owns it.
  const ownedCameras = peers ? new OwnedCameras(cameras) : undefined;
  const owned: CameraSet = ownedCameras ?? cameras;
  cameras.watch({ health: (entry, health, previous) => logHealth(logger, entry.id, health, previous) });
  const preload = new Set(config.cameras.filter((camera) => camera.preload).map((camera) => camera.id));
  metrics.watch(cameras);
  const hubs = new HubRegistry(cameras, {
    lingerMs: config.relay.lingerMs,
    stallMs: config.relay.stallMs,
    offlineFrames: config.relay.offlineFrames,
    preload,
  });
  const snapshots = new SnapshotService(cameras, hubs);
  const streams = new StreamHubs(cameras, {
    lingerMs: config.relay.lingerMs,
    preload,
  });
  const eventStreams = new EventStreams(cameras, {
    codesFor: (id) => config.cameras.find((c) => c.id === id)?.events?.codes ?? config.events.codes,
    heartbeatSeconds: config.events.heartbeatSeconds,
    lingerMs: config.relay.lingerMs,
  });
  const loginLimiter = new FailureLimiter(
    config.server.authRateLimit.failures,
    config.server.authRateLimit.windowSeconds * 1000,
  );
  const events = new EventPipeline({
    config,
    db,
    sql,
    ...(instance ? { cluster: { instance } } : {}),
    cameras,
    owned,
    hubs,
    eventStreams,
    snapshots,
    logger,
    storageDir,
    loginLimiter,
  });
  const backups = new BackupModule({
    config,
    cameras: owned,
    db,
    sql,
    ...(instance ? { instance } : {}),
    storageDir,
    logger,
    onConfigChanged: (result) =>
      void events.publisher.gatewayEvent(result.camera, "ConfigChanged", {
        commit: result.commit ?? null,
        sections: result.sections,
        paths: result.changes.slice(0, 200).map((c) => c.path),
        changes: result.changes.length,
      }),
    subscribeEvents: (listener) => events.bus.subscribe(listener),
  });
  // Clustered: each stored event is announced, and the others' events reach this instance's live feeds.
  const eventRelay =
    pgStore && clusterConfig && instance
      ? new ClusterEventRelay({
          url: clusterConfig.url,
          instance,
          bus: events.bus,
          read: (id) => events.store.get(id),
          onError: (error) => logger.warn({ instance, err: errorText(error) }, "cluster: event relay"),
        })
      : undefined;
  if (instance && pgStore) events.bus.onStored((tx, event) => announceEvent(tx, instance, event));
  metrics.watchRelay(hubs);
  metrics.watchEvents(
    (listener) => events.bus.subscribe(listener),
    (listener) => events.outbox.onOutcome(listener),
  );
  metrics.watchEventStore(events.publisher);
  const talks = new Talks();
  const sessions = new SessionStore(pgStore ? sql : undefined);
  const auth = new Authenticator(config.users, {
    sessions,
    trustedProxies: config.server.trustedProxies,
    metricsToken: config.server.metricsToken,
    signer,
    limiter: loginLimiter,
    ...(peers
      ? {
          internalUsers: [
            {
              name: CLUSTER_USER,
              role: "admin" as const,
              password: clusterSecret(signingKey),
              cameras: ["*"],
            },
          ],
        }
      : {}),
  });
  const { host, port } = config.server.listen;
  const scheme = https ? "https" : "http";
  let url = "";
  const rtspServer = config.server.rtsp
    ? new CamgateRtspServer({
        cameras,
        hubs: streams,
        auth: new RtspAuthenticator(auth, rtspAuthMethods(config, logger)),
        logger,
        tls: config.server.rtsp.tls && https ? { cert: https.cert, key: https.key } : undefined,
        viewerBacklogBytes: config.server.rtsp.viewerBacklogBytes,
      })
    : undefined;
  const webrtc = config.server.webrtc.enabled
    ? new WebRtcSessions(
        {
          iceServers: config.server.webrtc.iceServers,
          // Candidates on the one address camgate listens on (loopback stays loopback); all for 0.0.0.0.
          interfaceAddress:
            isIPv4(host) && host !== "0.0.0.0"
              ? host
              : host === "::1" || host === "localhost"
                ? "127.0.0.1"
                : undefined,
          announceAddresses: config.server.webrtc.announceAddresses,
          portRange: config.server.webrtc.portRange,
        },
        config.server.webrtc.maxSessions,
      )
    : undefined;
  metrics.watchStreams(streams, rtspServer, webrtc);
  const recordings = new RecordingIndex(sql, instance, (error) =>
    logger.warn({ err: errorText(error) }, "the recordings index could not be written"),
  );
  const recordingsDir = resolve(storageDir, config.recording.dir ?? "recordings");
  const clips = new ClipRecorder({
    config,
    cameras: owned,
    streams,
    store: events.store,
    bus: events.bus,
    publisher: events.publisher,
    index: recordings,
    dir: recordingsDir,
    logger,
    ...options.recordingFaults,
  });
  const retention = new RecordingRetention(recordings, recordingsDir, config, logger, (ids) =>
    events.store.incidents.existing(ids),
  );
  const segments = new SegmentRecorder({
    config,
    cameras: owned,
    streams,
    index: recordings,
    dir: recordingsDir,
    logger,
    ...(options.recordingFaults?.openFile ? { openFile: options.recordingFaults.openFile } : {}),
    onSegment: () => void retention.run(),
  });
  // Each new clip may take a budget over its limit.
  events.bus.subscribe((event) => {
    if (event.source === "gateway" && event.code === "ClipReady") void retention.run();
  });
  const cluster: GatewayContext["cluster"] = { coordinator: undefined };
  const ctx: GatewayContext = {
    cluster,
    cameras,
    hubs,
    streams,
    rtspServer,
    webrtc,
    eventStreams,
    snapshots,
    events,
    backups,
    backupsRedacted: config.backup.redact,
    sessions,
    secureCookies: https !== undefined,
    snapshotMaxAgeMs: config.relay.snapshotMaxAgeMs,
    auth,
    signer,
    metrics,
    streamAllowance: new StreamAllowance(),
    logger,
    publicUrl: () => (config.server.publicUrl ?? url).replace(/\/$/, ""),
    rtspPublicUrl: () => rtspLinkBase,
    reloadConfig: () => reloadFromFile(),
    recordings: { index: recordings, dir: recordingsDir },
    talks,
  };
  let rtspLinkBase: string | undefined;
  let rtspBoundPort = 0;
  const wildcard = (h: string) => h === "0.0.0.0" || h === "::";
  const rtspScheme = config.server.rtsp?.tls && https ? "rtsps" : "rtsp";
  // A face's links use the host the client reached it at when camgate listens on every address (and no
  // publicUrl says otherwise): an NVR on the LAN gets a LAN address, never 0.0.0.0.
  const onvif = new OnvifFaces(ctx, {
    host,
    announcedHost:
      wildcard(host) && config.server.publicUrl
        ? new URL(config.server.publicUrl).hostname.replace(/^\[|\]$/g, "")
        : host,
    streamUriSeconds: config.server.onvif.streamUriSeconds,
    discovery: { enabled: config.server.onvif.discovery, port: config.server.onvif.discoveryPort },
    rtspBase: (reached) => {
      if (rtspLinkBase === undefined || !config.server.rtsp) return undefined;
      if (!wildcard(config.server.rtsp.listen.host) || config.server.publicUrl) return rtspLinkBase;
      return `${rtspScheme}://${reached}:${rtspBoundPort}`;
    },
    httpBase: (reached) =>
      wildcard(host) && !config.server.publicUrl
        ? `${scheme}://${reached}:${new URL(url).port}`
        : ctx.publicUrl(),
  });
  const openOnvif = (entry: CameraEntry) =>
    onvif.open(entry, (bind, what) => listenRtsp(bind, what, host, entry.onvifPort ?? 0));
  const apps: FastifyInstance[] = [];
  const passthroughApps = new Map<string, FastifyInstance>();
  const passthroughUrls: Record<string, string> = {};
  const openPassthrough = async (entry: CameraEntry) => {
    if (entry.passthroughPort === undefined) return;
    const app = buildPassthroughApp(ctx, entry, https);
    passthroughApps.set(entry.id, app);
    const p = await listen(app, host, entry.passthroughPort, `cameras.${entry.id}.passthroughPort`);
    passthroughUrls[entry.id] = `${scheme}://${formatListen({ host, port: p })}`;
  };
  const rtspPassthroughUrls: Record<string, string> = {};
  /** Set once camgate's RTSP server listens: a camera's own RTSP port opens then (or when it is gained). */
  let rtspListening = false;
  const openRtspPassthrough = async (entry: CameraEntry) => {
    const rtsp = config.server.rtsp;
    if (!rtspServer || !rtsp || !rtspListening || entry.rtspPassthroughPort === undefined) return;
    const port = entry.rtspPassthroughPort;
    const p = await listenRtsp(
      () => rtspServer.listen(rtsp.listen.host, port, entry),
      `cameras.${entry.id}.rtspPassthroughPort`,
      rtsp.listen.host,
      port,
    );
    rtspPassthroughUrls[entry.id] = `${rtspScheme}://${formatListen({ host: rtsp.listen.host, port: p })}`;
  };
  const closeRtspPassthrough = async (camera: string) => {
    await rtspServer?.stopListening(camera);
    delete rtspPassthroughUrls[camera];
  };
  const closePassthrough = async (camera: string) => {
    await passthroughApps.get(camera)?.close();
    passthroughApps.delete(camera);
    delete passthroughUrls[camera];
  };
  // Set once everything is built: ownership decides which cameras this instance opens.
  let coordinator: ClusterCoordinator | undefined;
  if (peers)
    metrics.watchCluster({
      cameras,
      coordinator: () => coordinator,
      relayed: () => eventRelay?.relayed ?? 0,
    });
  const close = async () => {
    // Hand the cameras over first, so the other instances take them while this one shuts down.
    await coordinator?.stop();
    await eventRelay?.stop();
    ownedCameras?.close();
    await Promise.allSettled([...apps, ...passthroughApps.values()].map((app) => app.close()));
    talks.closeAll();
    await onvif.closeAll();
    await rtspServer?.close();
    webrtc?.closeAll();
    retention.stop();
    await clips.close();
    await segments.close();
    streams.close();
    hubs.close();
    await backups.close();
    await events
      .close()
      .catch((error: unknown) => logger.error({ err: error }, "closing the event pipeline failed"));
    eventStreams.close();
    await cameras.close();
    db.close();
    await pgStore?.close().catch(() => undefined);
  };
  /** This instance owns the camera now: reached directly, its once-per-camera work and its own ports start. */
  const becomeOwner = async (id: string) => {
    await cameras.route(id, undefined);
    ownedCameras?.take(id);
    const entry = cameras.get(id);
    if (!entry) return;
    await openPassthrough(entry).catch((error: unknown) =>
      logger.warn({ camera: id, err: errorText(error) }, "cluster: the camera's passthrough port"),
    );
    await openRtspPassthrough(entry).catch((error: unknown) =>
      logger.warn({ camera: id, err: errorText(error) }, "cluster: the camera's RTSP port"),
    );
    await openOnvif(entry).catch((error: unknown) =>
      logger.warn({ camera: id, err: errorText(error) }, "cluster: the camera's ONVIF port"),
    );
    await onvif
      .startDiscovery((bind, what) => listenRtsp(bind, what, host, config.server.onvif.discoveryPort))
      .catch((error: unknown) => logger.warn({ err: errorText(error) }, "cluster: ONVIF discovery"));
  };
  /**
   * This instance gives the camera up: its ports close, its once-per-camera work ends, and every
   * connection to the camera is closed (resolved) before the caller releases the lease.
   */
  const stopOwning = async (id: string) => {
    await closePassthrough(id);
    await closeRtspPassthrough(id);
    await onvif.close(id);
    talks.drop(id);
    ownedCameras?.give(id);
    if (peers && cameras.get(id)) await cameras.route(id, peers.route(id));
  };
  // One reload at a time: a second SIGHUP during a reload waits for the first.
  let reloading: Promise<unknown> = Promise.resolve();
  const applyReload = async (next: Config): Promise<ReloadSummary> => {
    const refused = startupProblems(next);
    if (refused.length > 0) throw new ConfigError(refused);
    const plan = planReload(config, next);
    for (const id of [...plan.removed, ...plan.reconfigured.map((camera) => camera.id)]) {
      await closePassthrough(id);
      await closeRtspPassthrough(id);
      await onvif.close(id);
      talks.drop(id);
      ownedCameras?.give(id);
      await cameras.remove(id);
    }
    config.cameras.splice(0, config.cameras.length, ...next.cameras);
    config.users.splice(0, config.users.length, ...next.users);
    preload.clear();
    for (const camera of config.cameras) if (camera.preload) preload.add(camera.id);
    if (plan.usersChanged) auth.setUsers(config.users);
    for (const camera of [...plan.reconfigured, ...plan.added]) {
      const entry = cameras.add(define(camera));
      // Clustered, the coordinator decides who owns an added camera; one this instance owns stays its own.
      if (!peers) {
        await openPassthrough(entry);
        await openRtspPassthrough(entry);
        await openOnvif(entry);
      } else if (coordinator?.owned.has(camera.id)) await becomeOwner(camera.id);
    }
    await onvif.startDiscovery((bind, what) =>
      listenRtsp(bind, what, host, config.server.onvif.discoveryPort),
    );
    for (const camera of plan.credentials)
      cameras.get(camera.id)?.session.setCredentials(camera.username, camera.password);
    for (const camera of plan.renamed) cameras.rename(camera.id, camera.name ?? camera.id);
    if (!planIsEmpty(plan)) events.deliveries.mqtt?.refresh();
    const ids = (list: readonly CameraConfig[]) => list.map((camera) => camera.id);
    const summary: ReloadSummary = {
      added: ids(plan.added),
      removed: plan.removed,
      reconfigured: ids(plan.reconfigured),
      renamed: ids(plan.renamed),
      credentials: ids(plan.credentials),
      usersChanged: plan.usersChanged,
      needsRestart: plan.needsRestart,
    };
    logger.info(summary, "config reloaded");
    if (plan.needsRestart.length > 0)
      logger.warn(
        { paths: plan.needsRestart },
        "config reload: these changes apply at the next restart (the running values stay until then)",
      );
    return summary;
  };
  const reloadFromFile = async (): Promise<ReloadSummary> => {
    if (!options.configFile) throw new NoConfigFileError();
    return reload(loadConfigFile(options.configFile));
  };
  const reload = (next: Config): Promise<ReloadSummary> => {
    const run = reloading.then(() => applyReload(next));
    reloading = run.catch(() => undefined);
    return run;
  };
  try {
    await events.start();
    await eventRelay?.start();
    await repairRecordings(recordings, recordingsDir, logger);
    clips.start();
    segments.start();
    retention.start();
    await backups.start();
    const main = buildMainApp(ctx, https, VERSION);
    apps.push(main);
    const actualPort = await listen(main, host, port, "server.listen");
    url = `${scheme}://${formatListen({ host, port: actualPort })}`;
    for (const entry of owned.list()) await openPassthrough(entry);
    let rtspUrl: string | undefined;
    if (rtspServer && config.server.rtsp) {
      const { host: rtspHost, port: rtspPort } = config.server.rtsp.listen;
      const bound = await listenRtsp(
        () => rtspServer.listen(rtspHost, rtspPort),
        "server.rtsp.listen",
        rtspHost,
        rtspPort,
      );
      rtspUrl = `${rtspScheme}://${formatListen({ host: rtspHost, port: bound })}`;
      rtspBoundPort = bound;
      rtspLinkBase = rtspLinkFor(rtspScheme, rtspHost, bound, config.server.publicUrl ?? url);
      rtspListening = true;
      for (const entry of owned.list()) await openRtspPassthrough(entry);
    }
    for (const entry of owned.list()) await openOnvif(entry);
    await onvif.startDiscovery((bind, what) =>
      listenRtsp(bind, what, host, config.server.onvif.discoveryPort),
    );
    if (pgStore && clusterConfig && instance) {
      coordinator = new ClusterCoordinator({
        pool: pgStore.pool,
        instance,
        ttlMs: clusterConfig.leaseSeconds * 1000,
        cameras: () => config.cameras.map((camera) => camera.id),
        onGained: async (id) => {
          if (!cameras.get(id)) return;
          logger.info({ camera: id, instance }, "cluster: this instance owns the camera now");
          await becomeOwner(id);
        },
        onLost: async (id, reason) => {
          logger.info({ camera: id, instance, reason }, "cluster: this instance no longer owns the camera");
          await stopOwning(id);
        },
        advertise: {
          http: clusterConfig.advertiseUrl ?? reachableUrl(url),
          rtsp:
            clusterConfig.advertiseRtspUrl ??
            (rtspUrl !== undefined && rtspScheme === "rtsp" ? reachableUrl(rtspUrl) : undefined),
        },
        onMap: (map) => {
          for (const id of peers?.update(map) ?? [])
            if (cameras.get(id)?.session.route) cameras.reconnect(id);
        },
        onError: (error) => logger.warn({ instance, err: errorText(error) }, "cluster: heartbeat failed"),
      });
      await coordinator.start();
      cluster.coordinator = coordinator;
    }
    return {
      url,
      passthroughUrls,
      rtspUrl,
      rtspPassthroughUrls,
      onvifUrls: onvif.urls,
      get onvifDiscoveryPort() {
        return onvif.discoveryPort;
      },
      streams,
      rtspServer,
      webrtc,
      cameras,
      get cluster() {
        return coordinator;
      },
      db,
      events,
      backups,
      logger,
      reload,
      reloadFromFile,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
