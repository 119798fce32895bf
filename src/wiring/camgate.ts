/** What starting camgate gives and takes: the public handle, the start options, the refusal to start. */

import pino, { type Logger } from "pino";
import type { AuditService } from "../audit/audit-service.ts";
import type { BackupModule } from "../backup/backup-module.ts";
import type { CameraRegistry } from "../camera/registry.ts";
import type { ClusterCoordinator } from "../cluster/coordinator.ts";
import type { ReloadSummary } from "../config/reload-plan.ts";
import type { Config } from "../config/schema.ts";
import type { EventPipeline } from "../events/pipeline.ts";
import type { SoftwareMotion } from "../events/software-motion.ts";
import type { Backfill } from "../recording/backfill.ts";
import type { OpenForWriting } from "../recording/clip-file.ts";
import type { RecordingIndex } from "../recording/recording-index.ts";
import type { StreamHubs } from "../relay/stream-hubs.ts";
import type { CamgateRtspServer } from "../server/rtsp/rtsp-server.ts";
import type { WebRtcSessions } from "../server/webrtc/sessions.ts";
import type { Db } from "../storage/database.ts";

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
  /** camgate's own motion detection (`cameras[].motion`). */
  motion: SoftwareMotion;
  backups: BackupModule;
  /** The cameras' security audit (undefined when `audit.enabled` is false). */
  audit: AuditService | undefined;
  /** The recordings index, and the backfill from the cameras' SD cards. */
  recording: { index: RecordingIndex; backfill: Backfill };
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
  /** Its sessions, listening or not (the camera web UI's RTSP over WebSocket). */
  rtspSessions: CamgateRtspServer;
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
