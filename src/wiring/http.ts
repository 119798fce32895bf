/**
 * The HTTP doors: the main server (REST, OpenAPI, the web UI, live media, the CGI passthrough under
 * /cam/<id>/) and a camera's own passthrough port (`passthroughPort`, what existing clients expect of a
 * camera) while this instance owns it. The routes' context is made here, from the parts they serve.
 */

import type { FastifyInstance } from "fastify";
import { formatListen } from "../config/listen.ts";
import type { GatewayContext } from "../server/context.ts";
import { EvidenceJobs } from "../server/evidence-jobs.ts";
import { buildMainApp, buildPassthroughApp } from "../server/gateway-server.ts";
import { HlsService } from "../server/hls-service.ts";
import { loadOrCreateEvidenceKey } from "../storage/evidence-key.ts";
import { VERSION } from "../version.ts";
import type { Access } from "./access.ts";
import type { Audit } from "./audit.ts";
import type { Backups } from "./backups.ts";
import type { Core } from "./core.ts";
import type { Events } from "./events.ts";
import { listenOrRefuse } from "./listen.ts";
import type { Motion } from "./motion.ts";
import type { Part } from "./part.ts";
import type { Recording } from "./recording.ts";
import type { Relay } from "./relay.ts";
import type { Reloader } from "./reload.ts";
import { type Rtsp, rtspLinkBase } from "./rtsp.ts";
import { makeSettings } from "./settings.ts";
import type { WebRtc } from "./webrtc.ts";

export interface Http extends Part {
  ctx: GatewayContext;
  /** Camera id → base URL of its passthrough port. */
  passthroughUrls: Record<string, string>;
}

export interface HttpNeeds {
  core: Core;
  access: Access;
  relay: Relay;
  events: Events;
  motion: Motion;
  backups: Backups;
  audit: Audit;
  recording: Recording;
  webrtc: WebRtc;
  rtsp: Rtsp;
  reloader: Reloader;
}

function contextOf({
  core,
  access,
  relay,
  events,
  motion,
  backups,
  audit,
  recording,
  webrtc,
  rtsp,
  reloader,
}: HttpNeeds) {
  const { config } = core;
  const ctx: GatewayContext = {
    cluster: core.cluster,
    cameras: core.cameras,
    hubs: relay.hubs,
    streams: relay.streams,
    rtspServer: rtsp.server,
    rtspSessions: rtsp.sessions,
    webrtc: webrtc.sessions,
    eventStreams: relay.eventStreams,
    snapshots: relay.snapshots,
    events: events.pipeline,
    motion: motion.software,
    backups: backups.module,
    audit: audit.service,
    backupsRedacted: config.backup.redact,
    sessions: access.sessions,
    secureCookies: core.https !== undefined,
    snapshotMaxAgeMs: config.relay.snapshotMaxAgeMs,
    auth: access.auth,
    signer: core.signer,
    metrics: core.metrics,
    streamAllowance: access.streamAllowance,
    logger: core.logger,
    publicUrl: () => (config.server.publicUrl ?? core.addresses.url).replace(/\/$/, ""),
    rtspPublicUrl: () => rtspLinkBase(core),
    reloadConfig: () => reloader.fromFile(),
    settings: makeSettings({ core, reloader }),
    hls: new HlsService(relay.streams, access.auth.grants),
    evidence: new EvidenceJobs(() => loadOrCreateEvidenceKey(core.storageDir)),
    reach: { passthrough: {}, rtspPassthrough: rtsp.passthroughUrls, onvif: {} },
    recordings: { index: recording.index, dir: recording.dir, storage: recording.storage },
    talks: access.talks,
  };
  return ctx;
}

export function makeHttp(needs: HttpNeeds): Http {
  const { core } = needs;
  const { host, port } = core.config.server.listen;
  const scheme = core.https ? "https" : "http";
  const ctx = contextOf(needs);
  core.metrics.watchStreams(needs.relay.streams, needs.rtsp.server, needs.webrtc.sessions);
  const main = buildMainApp(ctx, core.https, VERSION);
  const passthroughApps = new Map<string, FastifyInstance>();
  const passthroughUrls = ctx.reach.passthrough;
  return {
    name: "http",
    ctx,
    passthroughUrls,
    async start() {
      const bound = await listenOrRefuse(main, host, port, "server.listen");
      core.addresses.url = `${scheme}://${formatListen({ host, port: bound })}`;
    },
    async cameraOwned(entry) {
      if (entry.passthroughPort === undefined) return;
      const app = buildPassthroughApp(ctx, entry, core.https);
      passthroughApps.set(entry.id, app);
      const what = `cameras.${entry.id}.passthroughPort`;
      const bound = await listenOrRefuse(app, host, entry.passthroughPort, what);
      passthroughUrls[entry.id] = `${scheme}://${formatListen({ host, port: bound })}`;
    },
    async cameraReleased(camera) {
      await passthroughApps.get(camera)?.close();
      passthroughApps.delete(camera);
      delete passthroughUrls[camera];
    },
    async close() {
      await Promise.allSettled([main, ...passthroughApps.values()].map((app) => app.close()));
      ctx.hls.close();
      ctx.evidence.close();
    },
  };
}
