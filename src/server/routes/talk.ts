/**
 * GET /api/v1/cameras/:id/talk as a WebSocket: hold to talk. The client sends binary messages of 16-bit
 * little-endian PCM, mono, 8 kHz (the browser resamples its microphone; src/web's talk button does), and
 * `{"type":"stop"}` or a close to end. camgate answers `{"type":"talk","value":"open",...}` once the camera
 * accepted the talk, `{"type":"talk","value":"ended","reason":...}` when it ends, and closes.
 *
 * Operator role, one talker per camera (409 talk-busy before the upgrade; close 4409 if another won the race).
 * A session cookie rides along with any WebSocket a page opens and a browser cannot add the CSRF header,
 * so with a cookie the Origin must be camgate's own (cross-site WebSocket hijacking).
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { WebSocket } from "ws";
import { isCameraError } from "../../camera/errors.ts";
import type { CameraEntry } from "../../camera/registry.ts";
import { TalkBusyError, type TalkSession } from "../../relay/talk.ts";
import { cameraFor, type GatewayContext } from "../context.ts";
import { ApiProblem } from "../errors.ts";
import { holdSocket } from "../held-streams.ts";
import { sameOrigin } from "../same-origin.ts";

interface TalkRequest {
  Params: { id: string };
  Querystring: { codec?: "PCMA" | "PCMU" };
}

declare module "fastify" {
  interface FastifyRequest {
    talkCamera?: CameraEntry;
  }
}

/** Close codes of our own (RFC 6455 §7.4.2: 4000-4999 are the application's). */
const CLOSE_BUSY = 4409;
const CLOSE_CAMERA = 4502;

export function registerTalkRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  app.get<TalkRequest>(
    "/api/v1/cameras/:id/talk",
    {
      websocket: true,
      config: { role: "operator" },
      schema: {
        summary: "Talk through the camera's speaker (WebSocket; binary PCM s16le 8 kHz mono in)",
        tags: ["cameras"],
        params: { type: "object", properties: { id: { type: "string" } }, required: ["id"] },
        querystring: {
          type: "object",
          properties: { codec: { type: "string", enum: ["PCMA", "PCMU"], default: "PCMA" } },
        },
      },
      preHandler: async (request: FastifyRequest<TalkRequest>) => {
        const entry = cameraFor(ctx, request, request.params.id);
        if (request.principal?.via === "session" && !sameOrigin(ctx, request))
          throw new ApiProblem(
            "bad-origin",
            "a talk with a session cookie must come from camgate's own pages",
          );
        const holder = ctx.talks.holder(entry.id);
        if (holder)
          throw new ApiProblem("talk-busy", `${holder.user} is talking through ${entry.id}`, {
            camera: entry.id,
          });
        request.talkCamera = entry;
      },
    },
    (socket: WebSocket, request: FastifyRequest<TalkRequest>) => {
      const entry = request.talkCamera as CameraEntry;
      const user = request.principal?.name ?? "anonymous";
      holdSocket(ctx.auth.grants, request.principal, socket, entry.id, "operator");
      let talk: TalkSession | undefined;
      let closed = false;
      const early: Buffer[] = [];
      socket.on("message", (data, isBinary) => {
        const bytes = Buffer.isBuffer(data)
          ? data
          : Buffer.concat(Array.isArray(data) ? data : [Buffer.from(data)]);
        if (isBinary) {
          if (talk) talk.write(bytes);
          // Audio sent before the camera answered is kept (a short bounded start), so the first word is heard.
          else if (early.reduce((n, b) => n + b.length, 0) < 32_000) early.push(bytes);
          return;
        }
        if (bytes.toString("utf8").includes('"stop"')) talk?.end("stopped");
      });
      socket.on("close", () => {
        closed = true;
        talk?.end("stopped");
      });
      socket.on("error", () => socket.terminate());
      const law = request.query.codec === "PCMU" ? "ulaw" : "alaw";
      ctx.talks
        .open(entry, user, law)
        .then((opened) => {
          talk = opened;
          if (closed) return opened.end("stopped");
          ctx.logger.info({ camera: entry.id, user }, "talk started");
          socket.send(
            JSON.stringify({
              type: "talk",
              value: "open",
              codec: request.query.codec ?? "PCMA",
              input: "s16le",
              sampleRate: 8000,
            }),
          );
          for (const chunk of early.splice(0)) opened.write(chunk);
          opened.onEnd((reason) => {
            ctx.logger.info({ camera: entry.id, user, reason, ...opened.stats }, "talk ended");
            if (socket.readyState === socket.OPEN) {
              socket.send(JSON.stringify({ type: "talk", value: "ended", reason }));
              socket.close(1000, reason);
            }
          });
        })
        .catch((error: unknown) => {
          if (error instanceof TalkBusyError) return socket.close(CLOSE_BUSY, "someone else is talking");
          const message = isCameraError(error) ? error.message : "the talk could not start";
          if (!isCameraError(error)) ctx.logger.error({ err: error, camera: entry.id }, "talk failed");
          else
            ctx.logger.warn(
              { camera: entry.id, code: error.code, err: error.message },
              "talk refused by the camera",
            );
          if (socket.readyState === socket.OPEN) {
            socket.send(JSON.stringify({ type: "error", value: message }));
            socket.close(CLOSE_CAMERA, "the camera refused the talk");
          }
        });
    },
  );
}
