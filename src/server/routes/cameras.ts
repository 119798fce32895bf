/** /api/v1/cameras: the list, one camera, its snapshot and its live MJPEG stream. */

import type { FastifyInstance } from "fastify";
import type { CameraEntry } from "../../camera/registry.ts";
import { canSeeCamera, type Principal } from "../auth/authenticator.ts";
import { cameraFor, type GatewayContext } from "../context.ts";
import { serveHubStream, serveSnapshot } from "../media.ts";
import { upstreamSchema, upstreamsOf } from "../upstream-summary.ts";
import { idParams, problemResponses } from "./schemas.ts";

const healthSchema = {
  type: "object",
  properties: {
    state: { type: "string", enum: ["unknown", "online", "offline", "auth-failed", "busy"] },
    since: { type: "string", format: "date-time" },
    reason: { type: "string" },
    retryAt: {
      type: "string",
      format: "date-time",
      description:
        "auth-failed: when camgate tries the camera's credentials again (it waits so the camera does not lock you out)",
    },
    fix: { type: "string", description: "auth-failed: the config key to correct" },
    cause: {
      type: "string",
      enum: ["wrong-password", "locked-out"],
      description:
        "auth-failed: wrong-password (never seen to work, or changed since), or locked-out (credentials that worked are refused: the camera locked camgate's address out, or its password was changed on it; retryAt is when the lock should end)",
    },
  },
  required: ["state", "since"],
} as const;

const cameraSummary = {
  type: "object",
  properties: {
    id: { type: "string" },
    name: { type: "string" },
    groups: { type: "array", items: { type: "string" }, description: "the live wall's groups" },
    health: healthSchema,
    budget: {
      type: "object",
      properties: { inUse: { type: "integer" }, max: { type: "integer" }, queued: { type: "integer" } },
      required: ["inUse", "max", "queued"],
    },
    rtspBudget: {
      type: "object",
      description:
        "the camera's RTSP sessions camgate may hold (rtsp.maxSessions), apart from its HTTP budget",
      properties: { inUse: { type: "integer" }, max: { type: "integer" }, queued: { type: "integer" } },
      required: ["inUse", "max", "queued"],
    },
    protocol: {
      type: "string",
      enum: ["dahua", "onvif"],
      description: "how camgate talks to the camera; an ONVIF camera has no MJPEG stream nor CGI passthrough",
    },
    links: {
      type: "object",
      properties: {
        snapshot: { type: "string" },
        stream: { type: "string", description: "the MJPEG stream (Dahua cameras)" },
        streams: { type: "string" },
        passthrough: { type: "string" },
        rtsp: { type: "string", description: "camgate's RTSP URL of the main stream (with server.rtsp)" },
        rtspSub: { type: "string", description: "camgate's RTSP URL of the sub stream" },
        onvif: { type: "string", description: "the camera's ONVIF device service on camgate (onvifPort)" },
        cameraPort: { type: "string", description: "the camera's own port on camgate (passthroughPort)" },
        rtspCameraPort: {
          type: "string",
          description: "the camera's RTSP URL on its own port of camgate (rtspPassthroughPort)",
        },
      },
    },
    upstreams: {
      type: "array",
      description:
        "the camera's streams camgate holds open or is opening (RTSP, MJPEG, events), with the camera's answer while one is down; a stream that cannot open is its own state, not the camera's health",
      items: upstreamSchema,
    },
    sdCard: {
      type: ["object", "null"],
      description:
        "the SD card's health as last read by the instance that owns the camera (null before the first check or elsewhere)",
      properties: {
        state: { type: "string", enum: ["ok", "full", "error", "missing", "unsupported"] },
        checkedAt: { type: "string" },
        totalBytes: { type: "number" },
        usedBytes: { type: "number" },
        usedPercent: { type: ["number", "null"] },
        devices: {
          type: "array",
          items: {
            type: "object",
            properties: {
              name: { type: "string" },
              cameraState: { type: "string" },
              error: { type: "boolean" },
              totalBytes: { type: "number" },
              usedBytes: { type: "number" },
            },
          },
        },
      },
    },
    security: {
      type: "object",
      description:
        "admins only: the camera's last security audit in brief (GET /api/v1/cameras/{id}/audit has the findings)",
      properties: {
        at: { type: "string" },
        counts: { type: "object", additionalProperties: { type: "integer" } },
        error: { type: "string" },
      },
    },
    logSync: {
      type: "object",
      description: "the camera log sync into camgate's store: when it last ran, worked, and why it failed",
      properties: {
        lastAttempt: { type: ["string", "null"] },
        lastSuccess: { type: ["string", "null"] },
        lastError: { type: ["string", "null"] },
        lastCut: { type: ["string", "null"] },
      },
    },
  },
  required: ["id", "name", "health", "budget", "rtspBudget", "links"],
} as const;

function sdCardOf(ctx: GatewayContext, camera: string) {
  const status = ctx.events.sdCards.status(camera);
  return status ? { ...status, checkedAt: new Date(status.checkedAt).toISOString() } : null;
}

/** The last audit in brief, for admins (a map of what is weak is for them only). */
function securityOf(ctx: GatewayContext, principal: Principal | undefined, camera: string) {
  if (principal?.role !== "admin") return {};
  const report = ctx.audit?.latest(camera);
  if (!report) return {};
  return {
    security: {
      at: report.at,
      counts: report.counts,
      ...(report.error ? { error: report.error.message } : {}),
    },
  };
}

function summary(ctx: GatewayContext, entry: CameraEntry, principal?: Principal) {
  const health = entry.session.getHealth();
  const logSync = ctx.backups.logs.status(entry.id);
  return {
    id: entry.id,
    name: entry.name,
    groups: entry.groups,
    health: {
      state: health.state,
      since: new Date(health.since).toISOString(),
      ...(health.reason ? { reason: health.reason } : {}),
      ...(health.retryAt !== undefined ? { retryAt: new Date(health.retryAt).toISOString() } : {}),
      ...(health.state === "auth-failed" ? { fix: `cameras.${entry.id}.password` } : {}),
      ...(health.cause !== undefined ? { cause: health.cause } : {}),
    },
    budget: {
      inUse: entry.session.budget.inUse,
      max: entry.session.budget.max,
      queued: entry.session.budget.queued,
    },
    rtspBudget: {
      inUse: entry.rtspBudget.inUse,
      max: entry.rtspBudget.max,
      queued: entry.rtspBudget.queued,
    },
    protocol: entry.protocol,
    links: {
      snapshot: `/api/v1/cameras/${entry.id}/snapshot.jpg`,
      streams: `/api/v1/cameras/${entry.id}/streams`,
      // MJPEG and the CGI are Dahua's.
      ...(entry.protocol === "dahua"
        ? { stream: `/api/v1/cameras/${entry.id}/stream.mjpeg`, passthrough: `/cam/${entry.id}/cgi-bin/` }
        : {}),
      ...elsewhereLinks(ctx, entry.id),
    },
    upstreams: upstreamsOf(ctx, entry),
    sdCard: sdCardOf(ctx, entry.id),
    ...securityOf(ctx, principal, entry.id),
    logSync: {
      lastAttempt: logSync.lastAttempt ?? null,
      lastSuccess: logSync.lastSuccess ?? null,
      lastError: logSync.lastError ?? null,
      lastCut: logSync.lastCut ?? null,
    },
  };
}

/** Where other programs reach this camera through camgate (absolute URLs, without credentials). */
function elsewhereLinks(ctx: GatewayContext, id: string): Record<string, string> {
  const rtsp = ctx.rtspPublicUrl();
  const links: Record<string, string> = {};
  if (rtsp) {
    links.rtsp = `${rtsp}/${id}`;
    links.rtspSub = `${rtsp}/${id}/sub`;
  }
  const onvif = ctx.reach.onvif[id];
  if (onvif) links.onvif = onvif;
  const port = ctx.reach.passthrough[id];
  if (port) links.cameraPort = port;
  const rtspPort = ctx.reach.rtspPassthrough[id];
  if (rtspPort) links.rtspCameraPort = `${rtspPort}/cam/realmonitor?channel=1&subtype=0`;
  return links;
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
      return { cameras: cameras.map((entry) => summary(ctx, entry, principal)) };
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
    async (request) => {
      const entry = cameraFor(ctx, request, request.params.id);
      try {
        const device = await ctx.cameras.deviceInfo(entry.id);
        return { ...summary(ctx, entry, request.principal), device };
      } catch (error) {
        // The camera may be down: still answer with what camgate knows, and why the device part is missing.
        return {
          ...summary(ctx, entry, request.principal),
          deviceError: error instanceof Error ? error.message : String(error),
        };
      }
    },
  );

  app.get<{
    Params: { id: string };
    Querystring: { channel?: number; maxAge?: number; width?: number; allowStale?: boolean };
  }>(
    "/api/v1/cameras/:id/snapshot.jpg",
    {
      schema: {
        summary: "A JPEG snapshot: the live frame when a stream is running, else one shared camera request",
        tags: ["media"],
        params: idParams,
        querystring: {
          type: "object",
          properties: {
            channel: { type: "integer", minimum: 1 },
            maxAge: {
              type: "integer",
              minimum: 0,
              maximum: 3_600_000,
              description: "accept a picture this old (ms); default 1000",
            },
            width: { type: "integer", minimum: 16, maximum: 7680, description: "resize to this width" },
            allowStale: {
              type: "boolean",
              description: "when the camera is down, serve the last good picture (Age, X-Camgate-Stale: 1)",
            },
          },
        },
        response: {
          200: { description: "image/jpeg", type: "string", format: "binary" },
          ...problemResponses,
        },
      },
    },
    async (request, reply) => {
      const entry = cameraFor(ctx, request, request.params.id);
      const { channel = entry.mjpeg.channel, maxAge, width, allowStale } = request.query;
      return serveSnapshot(ctx, entry, reply, {
        channel,
        ...(maxAge !== undefined ? { maxAgeMs: maxAge } : {}),
        ...(width !== undefined ? { width } : {}),
        ...(allowStale ? { allowStale } : {}),
      });
    },
  );

  app.get<{ Params: { id: string }; Querystring: { channel?: number; subtype?: number; fps?: number } }>(
    "/api/v1/cameras/:id/stream.mjpeg",
    {
      schema: {
        summary: "The live MJPEG stream (multipart/x-mixed-replace), shared with every other viewer of it",
        tags: ["media"],
        params: idParams,
        querystring: {
          type: "object",
          properties: {
            channel: { type: "integer", minimum: 1 },
            subtype: { type: "integer", minimum: 0, maximum: 3 },
            fps: {
              type: "number",
              exclusiveMinimum: 0,
              maximum: 60,
              description: "cap this viewer's frame rate (grids, dashboards)",
            },
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
      const entry = cameraFor(ctx, request, request.params.id);
      const { channel = entry.mjpeg.channel, subtype = entry.mjpeg.subtype, fps } = request.query;
      return serveHubStream(ctx, entry, reply, channel, subtype, fps);
    },
  );
}
