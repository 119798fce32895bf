/**
 * HLS for players without MSE: `GET /api/v1/cameras/<id>/hls/index.m3u8?stream=main|sub` (a viewer, by any of
 * camgate's ways in, signed URLs included) answers a multivariant playlist whose one variant is
 * `s/<session token>/media.m3u8`; everything under `s/<token>/` (the media playlist, the init segment, the
 * segments and parts) is let in by the token (hls-service.ts), so a player that cannot send credentials
 * follows the relative URIs as they are. The media playlist is LL-HLS: parts of about half a second and
 * blocking reloads (`_HLS_msn`, `_HLS_part`).
 */
import type { FastifyInstance, FastifyReply } from "fastify";
import { cameraFor, type GatewayContext } from "../context.ts";
import { ApiProblem } from "../errors.ts";
import { idParams, problemResponses } from "./schemas.ts";

const PLAYLIST = "application/vnd.apple.mpegurl";
/**
 * How long the first playlist waits for the stream's first three whole segments: a camera's RTSP session
 * starting, then three GOPs of at least 1 s (longer on cameras with a long "smart codec" GOP).
 */
const START_TIMEOUT_MS = 30_000;
/** A blocking reload waits at most this long (three part targets and a segment, as LL-HLS suggests). */
const BLOCK_TIMEOUT_MS = 6_000;

interface TokenParams {
  id: string;
  token: string;
}

function sendBytes(reply: FastifyReply, chunks: readonly Uint8Array[] | undefined, what: string) {
  if (!chunks) throw new ApiProblem("not-found", `no ${what} (it has left the playlist, or is not made yet)`);
  return reply
    .type("video/mp4")
    .header("Cache-Control", "max-age=60")
    .send(
      chunks.length === 1
        ? Buffer.from(
            (chunks[0] as Uint8Array).buffer,
            (chunks[0] as Uint8Array).byteOffset,
            (chunks[0] as Uint8Array).length,
          )
        : Buffer.concat(chunks.map((c) => Buffer.from(c.buffer, c.byteOffset, c.length))),
    );
}

export function registerHlsRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  const tokenParams = {
    type: "object",
    properties: { id: idParams.properties.id, token: { type: "string", pattern: "^[A-Za-z0-9_-]{24}$" } },
    required: ["id", "token"],
  } as const;
  const media = (summary: string, name: string) => ({
    summary,
    tags: ["cameras"],
    params: {
      type: "object",
      properties: { ...tokenParams.properties, [name]: { type: "string" } },
      required: ["id", "token", name],
    },
    response: { 200: { description: "video/mp4", format: "binary" }, ...problemResponses },
  });
  const session = (params: TokenParams) => {
    const found = ctx.hls.use(params.token, params.id);
    if (!found)
      throw new ApiProblem("not-found", "no such HLS session (it ended after 30 s without a request)");
    return found;
  };

  app.get<{ Params: { id: string }; Querystring: { stream?: "main" | "sub" } }>(
    "/api/v1/cameras/:id/hls/index.m3u8",
    {
      schema: {
        summary: "The camera's live stream as Low-Latency HLS (for players without MSE)",
        description:
          "A multivariant playlist with one variant under a session path; the player follows its relative URIs, which carry the session (no credentials needed after this request). Sign this URL for players that cannot send credentials.",
        tags: ["cameras"],
        params: idParams,
        querystring: {
          type: "object",
          properties: { stream: { type: "string", enum: ["main", "sub"], default: "main" } },
        },
        response: { 200: { description: PLAYLIST, type: "string" }, ...problemResponses },
      },
    },
    async (request, reply) => {
      const entry = cameraFor(ctx, request, request.params.id);
      const principal = request.principal;
      if (!principal) throw new ApiProblem("unauthorized");
      const opened = ctx.hls.open(principal, entry, request.query.stream ?? "main");
      if (!opened)
        throw new ApiProblem(
          "hls-full",
          "too many HLS sessions (64 per user, 500 in all); players end theirs after 30 s idle",
        );
      const stream = ctx.hls.streamOf(opened);
      // Three whole segments before the first answer: players start three target durations from the live
      // edge (RFC 8216bis 6.3.3), and Chromium's own HLS did not start on a fresh stream with fewer.
      if (!stream || !(await stream.whenStarted(START_TIMEOUT_MS, 3))) {
        ctx.hls.end(opened.token);
        throw new ApiProblem("stream-unavailable", "the camera's stream did not start", { camera: entry.id });
      }
      const init = stream.currentInit;
      const codecs = init?.mime.match(/codecs="([^"]+)"/)?.[1] ?? "avc1.640028";
      const bitrate = ctx.streams.hub(entry, request.query.stream ?? "main").stats().bitrate ?? 4_000_000;
      const body = [
        "#EXTM3U",
        "#EXT-X-VERSION:9",
        "#EXT-X-INDEPENDENT-SEGMENTS",
        `#EXT-X-STREAM-INF:BANDWIDTH=${Math.max(100_000, Math.round(bitrate * 1.2))},CODECS="${codecs}"${init ? `,RESOLUTION=${init.width}x${init.height}` : ""}`,
        `s/${opened.token}/media.m3u8`,
        "",
      ].join("\n");
      return reply.type(PLAYLIST).header("Cache-Control", "no-cache").send(body);
    },
  );

  app.get<{ Params: TokenParams; Querystring: { _HLS_msn?: number; _HLS_part?: number } }>(
    "/api/v1/cameras/:id/hls/s/:token/media.m3u8",
    {
      config: { public: true },
      schema: {
        summary: "The HLS session's media playlist (LL-HLS; blocking reload with _HLS_msn and _HLS_part)",
        tags: ["cameras"],
        params: tokenParams,
        querystring: {
          type: "object",
          properties: {
            _HLS_msn: { type: "integer", minimum: 0 },
            _HLS_part: { type: "integer", minimum: 0 },
          },
        },
        response: { 200: { description: PLAYLIST, type: "string" }, ...problemResponses },
      },
    },
    async (request, reply) => {
      const { stream } = session(request.params);
      const msn = request.query._HLS_msn;
      if (msn !== undefined) {
        // More than two segments ahead of what exists is a player's error (RFC 8216bis 6.2.5.2).
        const latest = stream.latest;
        if (latest && msn > latest.msn + 2)
          throw new ApiProblem("bad-request", `_HLS_msn ${msn} is too far ahead (latest ${latest.msn})`);
        await stream.waitFor(msn, request.query._HLS_part ?? -1, BLOCK_TIMEOUT_MS);
      }
      const body = stream.playlist();
      if (!body) throw new ApiProblem("stream-unavailable", "the stream has no part yet");
      return reply.type(PLAYLIST).header("Cache-Control", "no-cache").send(body);
    },
  );

  app.get<{ Params: TokenParams & { generation: string } }>(
    "/api/v1/cameras/:id/hls/s/:token/init-:generation.mp4",
    { config: { public: true }, schema: media("The HLS session's init segment", "generation") },
    async (request, reply) => {
      const { stream } = session(request.params);
      const init = stream.currentInit;
      if (!init || String(init.generation) !== request.params.generation)
        throw new ApiProblem("not-found", "no such init segment (the stream's parameters changed)");
      return sendBytes(reply, [init.segment], "init segment");
    },
  );

  app.get<{ Params: TokenParams & { msn: string } }>(
    "/api/v1/cameras/:id/hls/s/:token/seg-:msn.m4s",
    {
      config: { public: true },
      schema: media("A whole segment of the HLS session (from a keyframe)", "msn"),
    },
    async (request, reply) => {
      const { stream } = session(request.params);
      return sendBytes(reply, stream.segment(Number(request.params.msn)), "segment");
    },
  );

  app.get<{ Params: TokenParams & { part: string } }>(
    "/api/v1/cameras/:id/hls/s/:token/part-:part.m4s",
    {
      config: { public: true },
      schema: media("A part of an HLS segment (LL-HLS; waits until it is made)", "part"),
    },
    async (request, reply) => {
      const { stream } = session(request.params);
      const match = /^(\d{1,9})\.(\d{1,4})$/.exec(request.params.part);
      if (!match) throw new ApiProblem("not-found", "no such part");
      const msn = Number(match[1]);
      const index = Number(match[2]);
      // A part named by the preload hint is asked for before it is made: answered once it is.
      await stream.waitFor(msn, index, BLOCK_TIMEOUT_MS);
      return sendBytes(reply, stream.part(msn, index), "part");
    },
  );
}
