/**
 * WebRTC playback, WHEP style (RFC 9725): `POST /api/v1/cameras/:id/webrtc?stream=main|sub` with the
 * browser's SDP offer (`application/sdp`) answers 201 with the SDP answer and a `Location` for the session;
 * `DELETE` on that location ends it. Candidates are not trickled: the answer carries every host candidate.
 * Auth is the route's like any other (session cookie with the CSRF header, token, or a signed POST URL for
 * embedding); the viewer must be able to see the camera.
 */
import type { FastifyInstance } from "fastify";
import { MAX_OFFER_BYTES, OfferError } from "../../protocol/webrtc-offer.ts";
import type { HubUnit, StreamHub, StreamTracks } from "../../relay/stream-hub.ts";
import { cameraFor, type GatewayContext } from "../context.ts";
import { ApiProblem } from "../errors.ts";
import { loadWebRtc } from "../webrtc/webrtc-viewer.ts";
import { idParams, problemResponses } from "./schemas.ts";

/** How long an answer waits for the camera's stream to describe itself (its codec decides the answer). */
const STREAM_WAIT_MS = 8000;

/** The stream's tracks once it has a keyframe, keeping the hub open meanwhile; undefined if it did not come. */
async function liveTracks(hub: StreamHub): Promise<StreamTracks | undefined> {
  const ready = () => (hub.cachedGop().length > 0 ? hub.currentTracks() : undefined);
  if (ready()) return ready();
  let wake: () => void = () => undefined;
  const woken = new Promise<void>((resolve) => {
    wake = resolve;
  });
  const detach = hub.attach({
    onVideo: (unit: HubUnit) => {
      if (unit.keyframe) wake();
    },
  });
  const timer = setTimeout(wake, STREAM_WAIT_MS);
  try {
    await woken;
    return ready();
  } finally {
    clearTimeout(timer);
    // The viewer attaches itself when it connects; the linger keeps the camera session until then.
    detach();
  }
}

export function registerWebRtcRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  app.addContentTypeParser(
    "application/sdp",
    { parseAs: "string", bodyLimit: MAX_OFFER_BYTES },
    (_request, body, done) => done(null, body),
  );

  app.post<{ Params: { id: string }; Querystring: { stream?: "main" | "sub" }; Body: string }>(
    "/api/v1/cameras/:id/webrtc",
    {
      schema: {
        summary: "Start a WebRTC viewer (WHEP): the SDP offer in, the SDP answer out",
        tags: ["cameras"],
        params: idParams,
        querystring: {
          type: "object",
          properties: { stream: { type: "string", enum: ["main", "sub"], default: "main" } },
        },
        response: {
          201: { type: "string", description: "the SDP answer (application/sdp)" },
          ...problemResponses,
        },
      },
    },
    async (request, reply) => {
      const entry = cameraFor(ctx, request, request.params.id);
      const sessions = ctx.webrtc;
      if (!sessions) throw new ApiProblem("not-found", "WebRTC is off (server.webrtc.enabled)");
      if (request.headers["content-type"]?.split(";")[0]?.trim() !== "application/sdp")
        throw new ApiProblem("unsupported-media-type", "the offer goes as application/sdp");
      const hub = ctx.streams.hub(entry, request.query.stream ?? "main");
      const tracks = await liveTracks(hub);
      if (!tracks) {
        throw new ApiProblem(
          "stream-unavailable",
          `the camera's ${hub.name} stream did not start (${hub.stats().lastError ?? hub.state})`,
          { camera: entry.id },
        );
      }
      if (tracks.codec !== "h264")
        throw new ApiProblem(
          "codec-unsupported",
          `the ${hub.name} stream is ${tracks.codec.toUpperCase()}; browsers take H.264 over WebRTC (use MSE, or the sub-stream)`,
        );
      const principal = request.principal?.name ?? "";
      // Held under its principal: a reload that takes the right away ends the viewer (stream-grants.ts).
      let release: (() => void) | undefined;
      await loadWebRtc();
      const viewer = sessions.create(hub, principal, () => release?.());
      if (viewer === "full")
        throw new ApiProblem("webrtc-full", `${sessions.maxSessions} WebRTC viewers are connected`);
      if (viewer === "principal-full")
        throw new ApiProblem("webrtc-full", "you hold your share of the WebRTC viewers: end one first");
      if (viewer === "unconnected")
        throw new ApiProblem(
          "webrtc-full",
          "you have WebRTC answers not yet connected: connect or end them first",
        );
      if (request.principal)
        release = ctx.auth.grants.hold({
          principal: request.principal,
          camera: entry.id,
          role: "viewer",
          end: () => viewer.close("closed"),
        });
      let answer: string;
      try {
        answer = await viewer.answer(typeof request.body === "string" ? request.body : "");
      } catch (error) {
        viewer.close("failed");
        if (error instanceof OfferError) throw new ApiProblem("bad-offer", error.message);
        throw error;
      }
      request.log.info({ camera: entry.id, stream: hub.name, session: viewer.id }, "WebRTC viewer answered");
      return reply
        .code(201)
        .header("Location", `/api/v1/cameras/${encodeURIComponent(entry.id)}/webrtc/${viewer.id}`)
        .type("application/sdp")
        .send(answer);
    },
  );

  app.delete<{ Params: { id: string; session: string } }>(
    "/api/v1/cameras/:id/webrtc/:session",
    {
      schema: {
        summary: "End a WebRTC viewer (WHEP session resource)",
        tags: ["cameras"],
        params: {
          type: "object",
          properties: { id: { type: "string" }, session: { type: "string" } },
          required: ["id", "session"],
        },
        response: { 204: { type: "null" }, ...problemResponses },
      },
    },
    async (request, reply) => {
      const entry = cameraFor(ctx, request, request.params.id);
      const session = ctx.webrtc?.get(request.params.session);
      const principal = request.principal;
      // Another user's session is not found (not forbidden): its id says nothing to anyone else.
      if (
        !session ||
        session.camera !== entry.id ||
        (session.principal !== principal?.name && principal?.role !== "admin")
      )
        throw new ApiProblem("not-found", "no such WebRTC session");
      session.viewer.close("closed");
      return reply.code(204).send();
    },
  );
}
