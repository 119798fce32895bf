/** Builds the gateway's HTTP(S) servers: the main one, and one per camera with a `passthroughPort`. */
import type { IncomingMessage } from "node:http";
import websocket from "@fastify/websocket";
import Fastify, { type FastifyInstance, LogController } from "fastify";
import type { CameraEntry } from "../camera/registry.ts";
import { canSeeCamera } from "./auth/authenticator.ts";
import { registerCameraUi } from "./camera-ui/routes.ts";
import { cameraFor, type GatewayContext } from "./context.ts";
import { ApiProblem, installErrorHandler } from "./errors.ts";
import { installFrontDoor } from "./front-door.ts";
import { forwardCgi } from "./passthrough.ts";
import { registerAuditRoutes } from "./routes/audit.ts";
import { registerBackupRoutes } from "./routes/backups.ts";
import { registerCameraRoutes } from "./routes/cameras.ts";
import { registerClusterRoutes } from "./routes/cluster.ts";
import { registerConfigRoutes } from "./routes/config.ts";
import { registerEventRoutes } from "./routes/events.ts";
import { registerEvidenceRoutes } from "./routes/evidence.ts";
import { registerHealthRoutes } from "./routes/health.ts";
import { registerHlsRoutes } from "./routes/hls.ts";
import { registerIncidentRoutes } from "./routes/incidents.ts";
import { liveSocketOptions, registerLiveRoutes } from "./routes/live.ts";
import { registerMotionRoutes } from "./routes/motion.ts";
import { collectOperations, registerOpenApiRoute } from "./routes/openapi.ts";
import { registerPtzRoutes } from "./routes/ptz.ts";
import { registerRecordingRoutes } from "./routes/recordings.ts";
import { registerRelayRoutes } from "./routes/relay.ts";
import { registerSdCardRoutes } from "./routes/sd-card.ts";
import { registerSessionRoutes } from "./routes/session.ts";
import { registerSettingsRoutes } from "./routes/settings.ts";
import { registerStreamRoutes } from "./routes/streams.ts";
import { registerSystemRoutes } from "./routes/system.ts";
import { registerTalkRoutes } from "./routes/talk.ts";
import { registerWebRtcRoutes } from "./routes/webrtc.ts";
import { registerWebUi } from "./web-ui.ts";

export interface HttpsOptions {
  cert: Buffer;
  key: Buffer;
  ca?: Buffer;
  requestCert: boolean;
  rejectUnauthorized: boolean;
}

function baseApp(ctx: GatewayContext, https: HttpsOptions | undefined, server: string): FastifyInstance {
  const app = Fastify({
    loggerInstance: ctx.logger,
    ...(https ? { https } : {}),
    // Streams are endless: closing the server must end them rather than wait.
    forceCloseConnections: true,
    routerOptions: { maxParamLength: 1000 },
    bodyLimit: 1024 * 1024,
    // Per-request lines would log every snapshot and stream; errors are logged where they are handled.
    logController: new LogController({ disableRequestLogging: true }),
    // PATCH bodies may be an object or an array (a config section can be either).
    ajv: { customOptions: { allowUnionTypes: true } },
  }) as unknown as FastifyInstance;
  installErrorHandler(app);
  installFrontDoor(app, ctx);
  closeRefusedUpgrades(app);
  countRequests(app, ctx, server);
  limitJsonDepth(app);
  return app;
}

/**
 * A WebSocket upgrade answered with plain HTTP (401, 404: the front door refused it) leaves a socket Node no
 * longer tracks; @fastify/websocket's own hook misses it when the refusal comes before that hook, and a
 * server close would then wait for it forever. Once such an answer is sent, the socket goes.
 */
function closeRefusedUpgrades(app: FastifyInstance): void {
  app.addHook("onResponse", async (request) => {
    if (request.raw.headers.upgrade !== undefined) request.raw.socket.destroy();
  });
}

/**
 * `camgate_http_requests_total`, labelled by the route's template (`/api/v1/cameras/:id`), never the raw URL,
 * so the label set stays as small as the route table (a scanner's 404s all count as `unmatched`).
 */
function countRequests(app: FastifyInstance, ctx: GatewayContext, server: string): void {
  app.addHook("onResponse", async (request, reply) => {
    ctx.metrics.httpRequests.inc({
      server,
      method: request.method,
      route: request.routeOptions.url ?? "unmatched",
      status: String(reply.statusCode),
    });
  });
}

/** Deeper JSON than any camgate body needs (config trees are a few levels deep). */
const MAX_JSON_DEPTH = 64;

/** How deeply `text` nests arrays and objects, counted without parsing (strings are skipped). */
export function jsonNestingDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 0x5c) i++;
      else if (ch === 0x22) inString = false;
    } else if (ch === 0x22) inString = true;
    else if (ch === 0x7b || ch === 0x5b) deepest = Math.max(deepest, ++depth);
    else if (ch === 0x7d || ch === 0x5d) depth--;
  }
  return deepest;
}

/**
 * JSON bodies as fastify parses them (prototype poisoning refused), but a body nested deeper than
 * MAX_JSON_DEPTH is a 400 before it is parsed: recursion over it (validation, config trees) would overflow.
 */
function limitJsonDepth(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser("error", "error");
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "string" }, (request, body, done) => {
    if (jsonNestingDepth(body as string) > MAX_JSON_DEPTH)
      return done(new ApiProblem("bad-request", `the JSON body nests deeper than ${MAX_JSON_DEPTH} levels`));
    parseJson(request, body as string, done);
  });
}

/** Passthrough routes take the request body as a raw stream (it is piped to the camera as it arrives). */
async function rawBodies(scope: FastifyInstance): Promise<void> {
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser(
    "*",
    (_request: unknown, _payload: IncomingMessage, done: (err: Error | null, body?: unknown) => void) =>
      done(null),
  );
}

export function buildMainApp(
  ctx: GatewayContext,
  https: HttpsOptions | undefined,
  version: string,
): FastifyInstance {
  const app = baseApp(ctx, https, "main");
  const operations = collectOperations(app);
  registerHealthRoutes(app, ctx);
  registerCameraRoutes(app, ctx);
  registerClusterRoutes(app, ctx);
  registerPtzRoutes(app, ctx);
  registerConfigRoutes(app, ctx);
  registerSystemRoutes(app, ctx);
  registerRelayRoutes(app, ctx);
  registerStreamRoutes(app, ctx);
  registerWebRtcRoutes(app, ctx);
  app.register(async (scope) => {
    await scope.register(websocket, { options: liveSocketOptions });
    registerLiveRoutes(scope, ctx);
    registerTalkRoutes(scope, ctx);
  });
  registerEventRoutes(app, ctx, ctx.events);
  registerIncidentRoutes(app, ctx, ctx.events);
  registerEvidenceRoutes(app, ctx, ctx.evidence);
  registerRecordingRoutes(app, ctx);
  registerSdCardRoutes(app, ctx);
  registerBackupRoutes(app, ctx);
  registerAuditRoutes(app, ctx);
  registerSettingsRoutes(app, ctx);
  registerMotionRoutes(app, ctx);
  registerHlsRoutes(app, ctx);
  registerSessionRoutes(app, ctx);
  registerWebUi(app);
  registerOpenApiRoute(app, operations, version);
  app.register(async (scope) => {
    await rawBodies(scope);
    scope.route<{ Params: { id: string } }>({
      method: ["GET", "POST", "PUT"],
      url: "/cam/:id/cgi-bin/*",
      // The role is decided per CGI action in forwardCgi.
      config: { role: "viewer", basicChallenge: true },
      handler: async (request, reply) => {
        const id = request.params.id;
        const entry = cameraFor(ctx, request, id);
        const raw = request.raw.url ?? "";
        await forwardCgi(ctx, entry, request, reply, raw.slice(`/cam/${id}`.length));
        return reply;
      },
    });
  });
  return app;
}

/** A camera's own port, where `/cgi-bin/...` goes straight to that camera (existing clients unchanged). */
export function buildPassthroughApp(
  ctx: GatewayContext,
  entry: CameraEntry,
  https: HttpsOptions | undefined,
): FastifyInstance {
  const app = baseApp(ctx, https, `passthrough:${entry.id}`);
  registerCameraUi(app, ctx, entry);
  app.register(async (scope) => {
    await rawBodies(scope);
    scope.route({
      method: ["GET", "POST", "PUT"],
      url: "/cgi-bin/*",
      config: { role: "viewer", basicChallenge: true },
      handler: async (request, reply) => {
        const principal = request.principal;
        if (!principal || !canSeeCamera(principal, entry.id))
          throw new ApiProblem("not-found", "no camera here for you");
        await forwardCgi(ctx, entry, request, reply, request.raw.url ?? "");
        return reply;
      },
    });
  });
  return app;
}
