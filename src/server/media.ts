/** Streams and snapshots from the relay, shared by the REST routes and the CGI passthrough. */
import type { FastifyReply } from "fastify";
import type { CameraEntry } from "../camera/registry.ts";
import { MJPEG_CONTENT_TYPE } from "../relay/frame-hub.ts";
import { type GatewayContext, requireDahua } from "./context.ts";
import { ApiProblem } from "./errors.ts";
import { holdResponse } from "./held-streams.ts";

/**
 * Attaches the client to the hub of (camera, channel, subtype), in the cameras' own framing. Each hub holds
 * one camera connection however many watch it, so the kinds of stream open at once are bounded: only the
 * camera's own channels, and never so many hubs that no connection is left for the camera's other calls.
 */
export async function serveHubStream(
  ctx: GatewayContext,
  entry: CameraEntry,
  reply: FastifyReply,
  channel: number,
  subtype: number,
  fps?: number,
): Promise<FastifyReply> {
  // Throws before anything is written; after the hijack the hub owns the response. MJPEG is Dahua's
  // (mjpg/video.cgi); an ONVIF camera's video is its H.264/H.265 stream (RTSP, MSE, WebRTC).
  requireDahua(entry);
  // Until the camera has said how many channels it has (it may be down), only the configured one and
  // the first are known to exist: a hub per channel any client names would otherwise be made and kept.
  const channels = (await ctx.cameras.channelCount(entry.id)) ?? Math.max(1, entry.mjpeg.channel);
  if (channel > channels)
    throw new ApiProblem("not-found", `the camera has ${channels} channel(s), not ${channel}`, {
      camera: entry.id,
    });
  const running = ctx.hubs.existing(entry.id, channel, subtype)?.isRunning ?? false;
  const limit = Math.max(1, entry.session.budget.max - 1);
  if (!running && ctx.hubs.runningCount(entry.id) >= limit)
    throw new ApiProblem("busy", `${limit} different streams of this camera are already open`, {
      camera: entry.id,
      retryAfterSeconds: 5,
    });
  const hub = ctx.hubs.hub(entry, channel, subtype);
  const error = hub.lastError;
  if (!hub.isLive && error?.code === "unsupported") {
    // The stream is not set to MJPEG on the camera: say so rather than send "offline" pictures forever.
    throw new ApiProblem(
      "unsupported",
      `channel ${channel} subtype ${subtype} is not an MJPEG stream on this camera (${error.message})`,
      { camera: entry.id },
    );
  }
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    "Content-Type": MJPEG_CONTENT_TYPE,
    "Cache-Control": "no-store, no-cache, must-revalidate",
    Pragma: "no-cache",
    Connection: "close",
  });
  res.flushHeaders();
  holdResponse(ctx.auth.grants, reply.request.principal, res, entry.id, "viewer");
  hub.attach(res, fps);
  return reply;
}

export async function serveSnapshot(
  ctx: GatewayContext,
  entry: CameraEntry,
  reply: FastifyReply,
  options: { channel: number; maxAgeMs?: number; width?: number; allowStale?: boolean },
): Promise<FastifyReply> {
  const snapshot = await ctx.snapshots.get({
    camera: entry.id,
    channel: options.channel,
    maxAgeMs: options.maxAgeMs ?? ctx.snapshotMaxAgeMs,
    ...(options.width !== undefined ? { width: options.width } : {}),
    ...(options.allowStale ? { allowStale: true } : {}),
  });
  reply.type("image/jpeg").header("Cache-Control", "no-store");
  if (snapshot.source === "stale") {
    reply.header("Age", String(Math.max(0, Math.round((Date.now() - snapshot.takenAt) / 1000))));
    reply.header("X-Camgate-Stale", "1");
  }
  return reply.send(snapshot.jpeg);
}
