/** Camera time, reboot and logs; signed URLs. */
import type { FastifyInstance } from "fastify";
import { cameraOfPath } from "../../protocol/signed-url.ts";
import { cameraFor, dahuaCameraFor, type GatewayContext } from "../context.ts";
import { ApiProblem } from "../errors.ts";
import { idParams, problemResponses } from "./schemas.ts";

const WALL_CLOCK = "^\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}$";

export function registerSystemRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  app.post(
    "/api/v1/config/reload",
    {
      config: { role: "admin" },
      schema: {
        summary: "Read the config file again and apply it without a restart (as SIGHUP does)",
        description:
          "Cameras added, removed or changed are started, stopped or reconfigured while the others keep streaming; users apply to the next request. A file that does not validate is refused (422 invalid-config, every error with its line and field) and the running config stays.",
        tags: ["system"],
        response: {
          200: {
            type: "object",
            properties: {
              added: { type: "array", items: { type: "string" } },
              removed: { type: "array", items: { type: "string" } },
              reconfigured: { type: "array", items: { type: "string" } },
              renamed: { type: "array", items: { type: "string" } },
              credentials: { type: "array", items: { type: "string" } },
              usersChanged: { type: "boolean" },
              needsRestart: { type: "array", items: { type: "string" } },
            },
          },
          ...problemResponses,
        },
      },
    },
    async () => ctx.reloadConfig(),
  );

  app.get<{ Params: { id: string } }>(
    "/api/v1/cameras/:id/time",
    {
      schema: {
        summary: "The camera's wall clock",
        tags: ["system"],
        params: idParams,
        response: { 200: { type: "object", properties: { time: { type: "string" } } }, ...problemResponses },
      },
    },
    async (request) => {
      const entry = dahuaCameraFor(ctx, request, request.params.id);
      return { time: await entry.api.time() };
    },
  );

  app.post<{ Params: { id: string } }>(
    "/api/v1/cameras/:id/reboot",
    {
      config: { role: "admin" },
      schema: {
        summary: "Reboot the camera",
        tags: ["system"],
        params: idParams,
        response: { 202: { type: "object", properties: { ok: { type: "boolean" } } }, ...problemResponses },
      },
    },
    async (request, reply) => {
      const entry = dahuaCameraFor(ctx, request, request.params.id);
      await entry.api.reboot();
      return reply.code(202).send({ ok: true });
    },
  );

  app.get<{
    Params: { id: string };
    Querystring: { from?: string; to?: string; type?: string; limit?: number; format?: "json" | "jsonl" };
  }>(
    "/api/v1/cameras/:id/logs",
    {
      schema: {
        summary:
          "The camera's log between two wall-clock times, from camgate's store (synced from the camera first)",
        tags: ["system"],
        params: idParams,
        querystring: {
          type: "object",
          properties: {
            from: { type: "string", pattern: WALL_CLOCK },
            to: { type: "string", pattern: WALL_CLOCK },
            type: { type: "string" },
            limit: { type: "integer", minimum: 1, maximum: 100_000 },
            format: {
              type: "string",
              enum: ["json", "jsonl"],
              description: "jsonl: one entry per line, for export",
            },
          },
        },
        response: {
          200: {
            type: "object",
            properties: {
              items: {
                type: "array",
                items: {
                  type: "object",
                  properties: {
                    time: { type: "string" },
                    type: { type: "string" },
                    user: { type: ["string", "null"] },
                    level: { type: ["integer", "null"] },
                    detail: {},
                  },
                },
              },
              syncError: { type: "string" },
            },
          },
          ...problemResponses,
        },
      },
    },
    async (request, reply) => {
      const entry = dahuaCameraFor(ctx, request, request.params.id);
      const { from, to, type, limit = 10_000, format = "json" } = request.query;
      let syncError: string | undefined;
      try {
        await ctx.backups.logs.sync(entry.id, { ...(from ? { from } : {}), ...(to ? { to } : {}) });
      } catch (error) {
        // The camera may be down: answer from what was synced before, and say why it is not fresher.
        syncError = error instanceof Error ? error.message : String(error);
      }
      const items = (
        await ctx.backups.logs.query(entry.id, {
          ...(from ? { from } : {}),
          ...(to ? { to } : {}),
          ...(type ? { type } : {}),
          limit,
        })
      ).map(({ camera: _camera, ...item }) => item);
      if (format === "jsonl") {
        return reply
          .type("application/x-ndjson; charset=utf-8")
          .header("Content-Disposition", `attachment; filename="${entry.id}-log.jsonl"`)
          .send(items.map((item) => JSON.stringify(item)).join("\n") + (items.length ? "\n" : ""));
      }
      return syncError ? { items, syncError } : { items };
    },
  );

  app.post<{ Body: { path: string; method?: "GET" | "HEAD" | "POST" | "RTSP"; expiresIn?: number } }>(
    "/api/v1/signed-urls",
    {
      schema: {
        summary: "Mint a short-lived URL that works without credentials (for <img> tags and dashboards)",
        tags: ["auth"],
        body: {
          type: "object",
          properties: {
            path: {
              type: "string",
              pattern: "^/[^\\s]*$",
              description:
                "e.g. /api/v1/cameras/dogs/stream.mjpeg?fps=2, or with method RTSP a stream of camgate's RTSP " +
                "server: /dogs, /dogs/sub, /dogs/cam/realmonitor?channel=1&subtype=0",
            },
            method: {
              type: "string",
              enum: ["GET", "HEAD", "POST", "RTSP"],
              description:
                "RTSP: a URL for camgate's RTSP server (for clients that cannot send credentials); POST: only for a WebRTC offer (/api/v1/cameras/<id>/webrtc)",
            },
            expiresIn: {
              type: "integer",
              minimum: 10,
              maximum: 7 * 24 * 3600,
              description: "seconds (default 3600)",
            },
          },
          required: ["path"],
          additionalProperties: false,
        },
        response: {
          201: {
            type: "object",
            properties: { url: { type: "string" }, path: { type: "string" }, expiresAt: { type: "string" } },
          },
          ...problemResponses,
        },
      },
    },
    async (request, reply) => {
      const principal = request.principal;
      if (!principal) throw new ApiProblem("unauthorized");
      if (principal.via === "signed-url")
        throw new ApiProblem("not-allowed", "a signed URL cannot mint another");
      const { path, method = "GET", expiresIn = 3600 } = request.body;
      const rtsp = method === "RTSP";
      if (!rtsp && !/^\/(api\/v1\/|cam\/)/.test(path))
        throw new ApiProblem("bad-request", "path must start with /api/v1/ or /cam/");
      // A signed POST starts a WebRTC viewer and nothing else: no signed PTZ moves or config changes.
      if (method === "POST" && !/^\/api\/v1\/cameras\/[^/?]+\/webrtc(\?|$)/.test(path))
        throw new ApiProblem("bad-request", "a signed POST is only for /api/v1/cameras/<id>/webrtc");
      const rtspBase = rtsp ? ctx.rtspPublicUrl() : undefined;
      if (rtsp && rtspBase === undefined)
        throw new ApiProblem("bad-request", "camgate's RTSP server is off (server.rtsp)");
      const camera = rtsp ? rtspCameraOf(path) : cameraOfPath(path.split("?", 1)[0] as string);
      if (rtsp && camera === undefined)
        throw new ApiProblem("bad-request", "an RTSP path is /<camera>, /<camera>/sub or /<camera>/cam/...");
      if (camera) cameraFor(ctx, request, camera);
      const expires = Math.floor(Date.now() / 1000) + expiresIn;
      const signed = ctx.signer.sign(method, path, principal.name, expires);
      return reply.code(201).send({
        url: `${rtspBase ?? ctx.publicUrl()}${signed}`,
        path: signed,
        expiresAt: new Date(expires * 1000).toISOString(),
      });
    },
  );
}

/** The camera of a path on camgate's RTSP server (`/dogs`, `/dogs/sub`, `/dogs/cam/realmonitor?...`). */
function rtspCameraOf(path: string): string | undefined {
  return /^\/([A-Za-z0-9_-]+)(?:\/sub|\/cam\/[^\s]*)?$/.exec(path.split("?", 1)[0] as string)?.[1];
}
