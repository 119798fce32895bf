/** /api/v1/cameras: the list, one camera, its snapshot and its live MJPEG stream. */
import type { FastifyInstance } from "fastify";
import { CameraApi } from "../../camera/api.ts";
import type { CameraEntry } from "../../camera/registry.ts";
import { canSeeCamera } from "../auth/authenticator.ts";
import { cameraFor, type GatewayContext } from "../context.ts";
import { problemFromError, sendProblem } from "../problem.ts";
import { idParams, problemResponses } from "./schemas.ts";

const healthSchema = {
  type: "object",
  properties: {
    state: { type: "string", enum: ["unknown", "online", "offline", "auth-failed", "busy"] },
    since: { type: "string", format: "date-time" },
    reason: { type: "string" },
  },
  required: ["state", "since"],
} as const;

const cameraSummary = {
  type: "object",
  properties: {
    id: { type: "string" },
    name: { type: "string" },
    health: healthSchema,
    budget: {
      type: "object",
      properties: { inUse: { type: "integer" }, max: { type: "integer" }, queued: { type: "integer" } },
      required: ["inUse", "max", "queued"],
    },
    links: {
      type: "object",
      properties: {
        snapshot: { type: "string" },
        stream: { type: "string" },
        passthrough: { type: "string" },
      },
    },
  },
  required: ["id", "name", "health", "budget", "links"],
} as const;

function summary(entry: CameraEntry) {
  const health = entry.session.getHealth();
  return {
    id: entry.id,
    name: entry.name,
    health: {
      state: health.state,
      since: new Date(health.since).toISOString(),
      ...(health.reason ? { reason: health.reason } : {}),
    },
    budget: {
      inUse: entry.session.budget.inUse,
      max: entry.session.budget.max,
      queued: entry.session.budget.queued,
    },
    links: {
      snapshot: `/api/v1/cameras/${entry.id}/snapshot.jpg`,
      stream: `/api/v1/cameras/${entry.id}/stream.mjpeg`,
      passthrough: `/cam/${entry.id}/cgi-bin/`,
    },
  };
}

export function registerCameraRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  app.get(
    "/api/v1/cameras",
    {
      schema: {
        summary: "The cameras you may see, with health and connection budget",
        tags: ["cameras"],
        response: {
          200: {
            type: "object",
            properties: { cameras: { type: "array", items: cameraSummary } },
            required: ["cameras"],
          },
        },
      },
    },
    async (request) => {
      const principal = request.principal;
      const cameras = ctx.cameras
        .list()
        .filter((entry) => principal !== undefined && canSeeCamera(principal, entry.id));
      return { cameras: cameras.map(summary) };
    },
  );

  app.get<{ Params: { id: string } }>(
    "/api/v1/cameras/:id",
    {
      schema: {
        summary: "One camera: device info (model, firmware, serial), health and budget",
        tags: ["cameras"],
        params: idParams,
        response: {
          200: {
            type: "object",
            properties: {
              ...cameraSummary.properties,
              device: {
                type: "object",
                properties: {
                  type: { type: "string" },
                  serial: { type: "string" },
                  softwareVersion: { type: "string" },
                  build: { type: "string" },
                  hardwareVersion: { type: "string" },
                  vendor: { type: "string" },
                  machineName: { type: "string" },
                },
              },
              deviceError: { type: "string" },
            },
            required: [...cameraSummary.required],
          },
          ...problemResponses,
        },
      },
    },
    async (request, reply) => {
      const entry = cameraFor(ctx, request, reply, request.params.id);
      if (!entry) return reply;
      try {
        const device = await ctx.cameras.deviceInfo(entry.id);
        return { ...summary(entry), device };
      } catch (error) {
        // The camera may be down: still answer with what camgate knows, and why the device part is missing.
        return { ...summary(entry), deviceError: error instanceof Error ? error.message : String(error) };
      }
    },
  );

  app.get<{ Params: { id: string }; Querystring: { channel?: number } }>(
    "/api/v1/cameras/:id/snapshot.jpg",
    {
      schema: {
        summary: "A JPEG snapshot",
        tags: ["media"],
        params: idParams,
        querystring: { type: "object", properties: { channel: { type: "integer", minimum: 1 } } },
        response: {
          200: { description: "image/jpeg", type: "string", format: "binary" },
          ...problemResponses,
        },
      },
    },
    async (request, reply) => {
      const entry = cameraFor(ctx, request, reply, request.params.id);
      if (!entry) return reply;
      try {
        const jpeg = await entry.api.snapshot(request.query.channel ?? entry.mjpeg.channel);
        return reply.type("image/jpeg").header("Cache-Control", "no-store").send(jpeg);
      } catch (error) {
        const { problem, retryAfterSeconds } = problemFromError(error);
        return sendProblem(reply, problem, retryAfterSeconds);
      }
    },
  );

  app.get<{ Params: { id: string }; Querystring: { channel?: number; subtype?: number } }>(
    "/api/v1/cameras/:id/stream.mjpeg",
    {
      schema: {
        summary: "The live MJPEG stream (multipart/x-mixed-replace)",
        tags: ["media"],
        params: idParams,
        querystring: {
          type: "object",
          properties: {
            channel: { type: "integer", minimum: 1 },
            subtype: { type: "integer", minimum: 0, maximum: 3 },
          },
        },
        response: {
          200: {
            description: "multipart/x-mixed-replace; boundary=myboundary",
            type: "string",
            format: "binary",
          },
          ...problemResponses,
        },
      },
    },
    async (request, reply) => {
      const entry = cameraFor(ctx, request, reply, request.params.id);
      if (!entry) return reply;
      const target = CameraApi.mjpegTarget(
        request.query.channel ?? entry.mjpeg.channel,
        request.query.subtype ?? entry.mjpeg.subtype,
      );
      let upstream: Awaited<ReturnType<typeof entry.session.stream>>;
      try {
        upstream = await entry.session.stream({ target, timeouts: { bodyMs: 10_000 } });
      } catch (error) {
        const { problem, retryAfterSeconds } = problemFromError(error);
        return sendProblem(reply, problem, retryAfterSeconds);
      }
      if (upstream.status !== 200) {
        upstream.close();
        const { problem } = problemFromError(new Error(`camera answered ${upstream.status}`));
        return sendProblem(reply, {
          ...problem,
          status: 502,
          code: "bad-response",
          detail: `the camera answered ${upstream.status} to ${target}`,
        });
      }
      reply.hijack();
      reply.raw.writeHead(200, {
        "Content-Type": String(
          upstream.headers["content-type"] ?? "multipart/x-mixed-replace; boundary=myboundary",
        ),
        "Cache-Control": "no-store",
      });
      reply.raw.on("close", () => upstream.close());
      upstream.body.on("error", () => reply.raw.destroy());
      upstream.body.pipe(reply.raw);
      return reply;
    },
  );
}
