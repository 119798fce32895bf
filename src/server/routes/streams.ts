/**
 * /api/v1/cameras/:id/streams: the camera's H.264/H.265 streams as camgate relays them: codec, size, frame
 * rate, GOP and bitrate as measured, who consumes them, the upstream session's state, and the RTSP URLs of
 * camgate's server (without credentials: mint a signed one with POST /api/v1/signed-urls, method RTSP).
 */
import type { FastifyInstance } from "fastify";
import type { StreamHub } from "../../relay/stream-hub.ts";
import { cameraFor, type GatewayContext } from "../context.ts";
import { idParams, problemResponses } from "./schemas.ts";

const nullableInteger = { type: ["integer", "null"] } as const;

const streamSchema = {
  type: "object",
  properties: {
    name: { type: "string", description: "main, sub, or the camera path of another channel" },
    cameraPath: { type: "string", description: "the path camgate asks the camera for" },
    state: { type: "string", enum: ["idle", "connecting", "live", "down"] },
    codec: { type: ["string", "null"], description: "RFC 6381, e.g. avc1.64001f or hvc1.1.6.L93.B0" },
    width: nullableInteger,
    height: nullableInteger,
    fps: { type: ["number", "null"], description: "measured over the last second (else the SPS's)" },
    gopFrames: { ...nullableInteger, description: "pictures between the last two keyframes" },
    bitrate: { ...nullableInteger, description: "bits per second, measured over the last second" },
    consumers: {
      type: "integer",
      description: "outputs fed by the stream (RTSP viewers, the MSE feed, WebRTC viewers)",
    },
    rtspViewers: { type: "integer" },
    mseViewers: { type: "integer", description: "WebSocket (MSE) viewers" },
    webrtcViewers: { type: "integer" },
    upstreamConnects: { type: "integer" },
    timestampJumps: { type: "integer", description: "camera timestamps re-stamped onto camgate's timeline" },
    droppedUpstream: { type: "integer", description: "pictures lost to gaps in the camera's RTP" },
    lastError: { type: ["string", "null"] },
    rtspUrl: { type: ["string", "null"], description: "camgate's RTSP URL of this stream" },
  },
  required: [
    "name",
    "cameraPath",
    "state",
    "consumers",
    "rtspViewers",
    "mseViewers",
    "webrtcViewers",
    "rtspUrl",
  ],
} as const;

export function registerStreamRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  app.get<{ Params: { id: string } }>(
    "/api/v1/cameras/:id/streams",
    {
      schema: {
        summary: "The camera's H.264/H.265 streams: codec, size, rate, consumers, upstream state, RTSP URLs",
        tags: ["cameras"],
        params: idParams,
        response: {
          200: {
            type: "object",
            properties: {
              camera: { type: "string" },
              rtspSessions: {
                type: "object",
                description: "the camera's RTSP sessions camgate holds, of rtsp.maxSessions",
                properties: { inUse: { type: "integer" }, max: { type: "integer" } },
              },
              streams: { type: "array", items: streamSchema },
            },
            required: ["camera", "rtspSessions", "streams"],
          },
          ...problemResponses,
        },
      },
    },
    async (request) => {
      const entry = cameraFor(ctx, request, request.params.id);
      // Main and sub are always listed (idle until watched); other channels once someone asked for them.
      const hubs = new Set<StreamHub>([ctx.streams.hub(entry, "main"), ctx.streams.hub(entry, "sub")]);
      for (const hub of ctx.streams.list()) if (hub.camera === entry.id) hubs.add(hub);
      const base = ctx.rtspPublicUrl();
      return {
        camera: entry.id,
        rtspSessions: { inUse: entry.rtspBudget.inUse, max: entry.rtspBudget.max },
        streams: [...hubs].map((hub) => {
          const stats = hub.stats();
          const path =
            hub.name === "main"
              ? `/${entry.id}`
              : hub.name === "sub"
                ? `/${entry.id}/sub`
                : `/${entry.id}${hub.path}`;
          return {
            name: hub.name,
            cameraPath: hub.path,
            state: stats.state,
            codec: stats.codec ?? null,
            width: stats.width ?? null,
            height: stats.height ?? null,
            fps: stats.fps ?? null,
            gopFrames: stats.gopFrames ?? null,
            bitrate: stats.bitrate ?? null,
            consumers: stats.consumers,
            rtspViewers: ctx.rtspServer?.viewersOf(hub) ?? 0,
            mseViewers: ctx.streams.fmp4.viewersOf(hub),
            webrtcViewers: ctx.webrtc?.viewersOf(hub) ?? 0,
            upstreamConnects: stats.upstreamConnects,
            timestampJumps: stats.timestampJumps,
            droppedUpstream: stats.droppedUpstream,
            lastError: stats.lastError ?? null,
            rtspUrl: base ? `${base}${path}` : null,
          };
        }),
      };
    },
  );
}
