/** What the routes share, and the request decorations of the front door. */

import type { FastifyRequest } from "fastify";
import type { Logger } from "pino";
import type { AuditService } from "../audit/audit-service.ts";
import type { BackupModule } from "../backup/backup-module.ts";
import type { CameraProbe } from "../camera/camera-probe.ts";
import type { DiscoveryResult } from "../camera/discovery.ts";
import type { CameraEntry, CameraRegistry } from "../camera/registry.ts";
import type { ClusterCoordinator } from "../cluster/coordinator.ts";
import type { ConfigFileWriter } from "../config/config-file-writer.ts";
import type { ReloadSummary } from "../config/reload-plan.ts";
import type { CameraConfig, Config } from "../config/schema.ts";
import type { EventPipeline } from "../events/pipeline.ts";
import type { SoftwareMotion } from "../events/software-motion.ts";
import type { UrlSigner } from "../protocol/signed-url.ts";
import type { RecordingIndex } from "../recording/recording-index.ts";
import type { StorageWatch } from "../recording/storage-watch.ts";
import type { EventStreams } from "../relay/event-stream-hub.ts";
import type { HubRegistry } from "../relay/hub-registry.ts";
import type { SnapshotService } from "../relay/snapshot.ts";
import type { StreamHubs } from "../relay/stream-hubs.ts";
import type { Talks } from "../relay/talk.ts";
import { type Authenticator, canSeeCamera, type Principal } from "./auth/authenticator.ts";
import type { Role } from "./auth/roles.ts";
import type { SessionStore } from "./auth/sessions.ts";
import { ApiProblem } from "./errors.ts";
import type { EvidenceJobs } from "./evidence-jobs.ts";
import type { HlsService } from "./hls-service.ts";
import type { GatewayMetrics } from "./metrics.ts";
import type { CamgateRtspServer } from "./rtsp/rtsp-server.ts";
import type { StreamAllowance } from "./stream-allowance.ts";
import type { WebRtcSessions } from "./webrtc/sessions.ts";

declare module "fastify" {
  /** OpenAPI fields on route schemas (src/server/routes/openapi.ts reads them). */
  interface FastifySchema {
    summary?: string;
    description?: string;
    /** The OpenAPI operationId (default: from the method and path). */
    operationId?: string;
    tags?: string[];
  }
  interface FastifyRequest {
    principal: Principal | undefined;
  }
  interface FastifyContextConfig {
    /** Least role the route needs (default viewer). */
    role?: Role;
    /** No authentication at all (health, OpenAPI). */
    public?: boolean;
    /** Answer 401 with a Basic challenge, for CGI clients that wait for one. */
    basicChallenge?: boolean;
    /** The web UI's page and assets: they get the UI's content security policy, not the sandbox. */
    webUi?: boolean;
    /** The camera's own web UI on its passthrough port: its scripts may run there (camera-ui/routes.ts). */
    cameraUi?: boolean;
    /** The route a `server.metricsToken` may read (/metrics). */
    scrapeToken?: boolean;
  }
}

export interface GatewayContext {
  cameras: CameraRegistry;
  hubs: HubRegistry;
  /** The cameras' H.264/H.265 streams (one RTSP session each). */
  streams: StreamHubs;
  /** camgate's RTSP server, when `server.rtsp` is set. */
  rtspServer: CamgateRtspServer | undefined;
  /** Its sessions, listening or not (the camera web UI's RTSP over WebSocket uses them either way). */
  rtspSessions: CamgateRtspServer;
  /** The WebRTC viewers, when `server.webrtc.enabled`. */
  webrtc: WebRtcSessions | undefined;
  /** One event stream per camera, shared by the pipeline and the passthrough's attach clients. */
  eventStreams: EventStreams;
  snapshots: SnapshotService;
  events: EventPipeline;
  /** camgate's own motion detection (`cameras[].motion`). */
  motion: SoftwareMotion;
  backups: BackupModule;
  /** The cameras' security audit (undefined when `audit.enabled` is false). */
  audit: AuditService | undefined;
  /** Whether committed backups are redacted (then viewers may read them). */
  backupsRedacted: boolean;
  sessions: SessionStore;
  /** Session cookies get `Secure` (the server runs TLS). */
  secureCookies: boolean;
  /** Default snapshot age (relay.snapshotMaxAgeMs). */
  snapshotMaxAgeMs: number;
  auth: Authenticator;
  signer: UrlSigner;
  metrics: GatewayMetrics;
  /** Long-lived passthrough answers that hold a camera connection, per camera and principal. */
  streamAllowance: StreamAllowance;
  logger: Logger;
  /** Base URL for links (signed URLs); from server.publicUrl or the listen address. */
  publicUrl: () => string;
  /** Base URL of camgate's RTSP server for links (`rtsp://host:8554`), once it listens; else undefined. */
  rtspPublicUrl: () => string | undefined;
  /** Re-reads the config file and applies it (a ConfigError when it is refused, NoConfigFileError without one). */
  reloadConfig: () => Promise<ReloadSummary>;
  /** Who talks through which camera (one talker each). */
  talks: Talks;
  /** This instance's part in a cluster (`storage.postgres`), set once the cameras are shared out. */
  cluster: { coordinator: ClusterCoordinator | undefined };
  /** Recorded clips (and later segments): their index and the directory their files are in. */
  recordings: { index: RecordingIndex; dir: string; storage: StorageWatch };
  /**
   * Where each camera is reached through camgate besides the API, camera id → URL, filled as the parts open
   * them: its own port (`passthroughPort`), its RTSP port (`rtspPassthroughPort`), its ONVIF face.
   */
  reach: {
    passthrough: Record<string, string>;
    rtspPassthrough: Record<string, string>;
    onvif: Record<string, string>;
  };
  /** HLS viewers: their sessions and one muxing per stream (hls-service.ts). */
  hls: HlsService;
  /** Evidence archives being prepared or ready (evidence-jobs.ts). */
  evidence: EvidenceJobs;
  /** camgate's own settings: the config file, written from the UI (wiring/settings.ts). */
  settings: GatewaySettings;
}

export interface GatewaySettings {
  /** The config in force (cameras and users follow every reload). */
  current(): Config;
  /** The config file's writer; undefined when camgate runs without one (the demo). */
  writer: ConfigFileWriter | undefined;
  /** Applies a config just written (the reload every change goes through). */
  apply(next: Config): Promise<ReloadSummary>;
  /** One look at a camera before it is added or changed (one login, under the no-lockout rules). */
  probe(camera: CameraConfig): Promise<CameraProbe>;
  /** One search of the LAN at a time: a second caller shares the one under way. */
  discover(): Promise<DiscoveryResult>;
}

/** The camera named in the route, if the caller may see it; otherwise a 404 (the same as no such camera). */
export function cameraFor(ctx: GatewayContext, request: FastifyRequest, id: string): CameraEntry {
  const entry = ctx.cameras.get(id);
  if (!entry || !request.principal || !canSeeCamera(request.principal, id))
    throw new ApiProblem("not-found", `no camera "${id}"`);
  return entry;
}

/**
 * The camera named in the route, for what only Dahua's CGI can do (its config, logs, SD card, reboot,
 * talk, MJPEG, backups): an ONVIF camera answers 501 `unsupported` saying so, before anything is sent.
 */
export function dahuaCameraFor(ctx: GatewayContext, request: FastifyRequest, id: string): CameraEntry {
  return requireDahua(cameraFor(ctx, request, id));
}

export function requireDahua(entry: CameraEntry): CameraEntry {
  if (entry.protocol !== "dahua")
    throw new ApiProblem(
      "unsupported",
      `camera "${entry.id}" is reached by ONVIF (protocol: onvif); this needs a Dahua camera's CGI`,
      { camera: entry.id },
    );
  return entry;
}
