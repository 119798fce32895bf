/** Events: the list, one event and its snapshot, the live SSE feed with replay, and delivery state. */
import { createReadStream } from "node:fs";
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { CamgateEvent } from "../../events/model.ts";
import type { PageQuery } from "../../events/paging.ts";
import type { EventPipeline } from "../../events/pipeline.ts";
import { serveEventFeed } from "../../events/sse.ts";
import { canSeeCamera, type Principal } from "../auth/authenticator.ts";
import type { GatewayContext } from "../context.ts";
import { ApiProblem } from "../errors.ts";
import { holdResponse } from "../held-streams.ts";
import { problemResponses } from "./schemas.ts";

export const eventSchema = {
  type: "object",
  properties: {
    id: { type: "string" },
    camera: { type: "string" },
    source: { type: "string", enum: ["camera", "email", "gateway", "motion"] },
    code: { type: "string" },
    action: { type: "string", enum: ["start", "stop", "pulse", "state"] },
    channel: { type: "integer" },
    data: {},
    cameraTime: { type: ["string", "null"] },
    receivedAt: { type: "string" },
    snapshot: { type: "boolean" },
    incident: {
      type: ["string", "null"],
      description: "the incident this transition belongs to (GET /api/v1/incidents/<id>)",
    },
    objects: {
      type: "array",
      description:
        "what a smart event (IVS, SMD) saw, whatever the firmware's spelling; only on events that carry objects",
      items: {
        type: "object",
        properties: {
          type: { type: "string", enum: ["human", "vehicle", "non-motor", "animal", "face", "other"] },
          cameraType: { type: "string", description: "the camera's own word (Human, MotorVehicle)" },
          id: { type: "integer", description: "the camera's tracking id" },
          box: {
            type: "object",
            description: "fractions of the picture (0..1)",
            properties: {
              x: { type: "number" },
              y: { type: "number" },
              width: { type: "number" },
              height: { type: "number" },
            },
          },
          center: { type: "object", properties: { x: { type: "number" }, y: { type: "number" } } },
          action: { type: "string", description: "Appear, Inside, Cross, Disappear (the camera's word)" },
        },
        required: ["type"],
      },
    },
    rule: { type: "string", description: "the rule or region that fired" },
    direction: { type: "string", description: "left-to-right, right-to-left, both, enter, leave" },
  },
} as const;

export function visibleCameras(ctx: GatewayContext, principal: Principal | undefined): string[] | "*" {
  if (!principal) return [];
  if (principal.cameras === "*") return "*";
  return ctx.cameras
    .list()
    .map((c) => c.id)
    .filter((id) => canSeeCamera(principal, id));
}

export function parseTime(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const ms = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isFinite(ms))
    throw new ApiProblem("bad-request", `not a time: ${text} (ISO 8601 or ms since epoch)`);
  return ms;
}

/** The query of a newest-first page (events and incidents alike). */
export interface PageQuerystring {
  camera?: string;
  code?: string;
  since?: string;
  until?: string;
  limit?: number;
  cursor?: string;
  /** Incidents only. */
  kind?: string;
  zone?: string;
}

export const pageQuerySchema = {
  type: "object",
  properties: {
    camera: { type: "string" },
    code: { type: "string" },
    since: { type: "string", description: "ISO 8601 or ms since epoch" },
    until: { type: "string", description: "ISO 8601 or ms since epoch (exclusive)" },
    limit: { type: "integer", minimum: 1, maximum: 1000 },
    cursor: { type: "string", description: "nextCursor of the previous page" },
  },
} as const;

/** The store's page query for this request: its filters, limited to the cameras the caller may see. */
export function pageQuery(
  ctx: GatewayContext,
  request: FastifyRequest<{ Querystring: PageQuerystring }>,
): PageQuery {
  const q = request.query;
  const since = parseTime(q.since);
  const until = parseTime(q.until);
  return {
    cameras: visibleCameras(ctx, request.principal),
    ...(q.camera !== undefined ? { camera: q.camera } : {}),
    ...(q.code !== undefined ? { code: q.code } : {}),
    ...(since !== undefined ? { since } : {}),
    ...(until !== undefined ? { until } : {}),
    ...(q.limit !== undefined ? { limit: q.limit } : {}),
    ...(q.cursor !== undefined ? { cursor: q.cursor } : {}),
    ...(q.kind !== undefined ? { kind: q.kind } : {}),
    ...(q.zone !== undefined ? { zone: q.zone } : {}),
  };
}

export function registerEventRoutes(
  app: FastifyInstance,
  ctx: GatewayContext,
  pipeline: EventPipeline,
): void {
  const { store, bus } = pipeline;

  app.get<{ Querystring: PageQuerystring }>(
    "/api/v1/events",
    {
      schema: {
        summary: "Stored events, newest first, of the cameras you may see",
        tags: ["events"],
        querystring: pageQuerySchema,
        response: {
          200: {
            type: "object",
            properties: { events: { type: "array", items: eventSchema }, nextCursor: { type: "string" } },
          },
          ...problemResponses,
        },
      },
    },
    async (request) => {
      const page = await store.list(pageQuery(ctx, request));
      return page.nextCursor ? page : { events: page.events };
    },
  );

  const findVisible = async (request: FastifyRequest, id: string): Promise<CamgateEvent | undefined> => {
    const event = await store.get(id);
    return event && request.principal && canSeeCamera(request.principal, event.camera) ? event : undefined;
  };

  app.get<{ Params: { id: string } }>(
    "/api/v1/events/:id",
    {
      schema: {
        summary: "One event",
        tags: ["events"],
        params: {
          type: "object",
          properties: { id: { type: "string", pattern: "^[0-9A-Z]{26}$" } },
          required: ["id"],
        },
        response: { 200: eventSchema, ...problemResponses },
      },
    },
    async (request) => {
      const event = await findVisible(request, request.params.id);
      if (!event) throw new ApiProblem("not-found", "no such event");
      return event;
    },
  );

  app.get<{ Params: { id: string } }>(
    "/api/v1/events/:id/snapshot.jpg",
    {
      schema: {
        summary: "The snapshot stored with an event",
        tags: ["events"],
        params: {
          type: "object",
          properties: { id: { type: "string", pattern: "^[0-9A-Z]{26}$" } },
          required: ["id"],
        },
        response: {
          200: { description: "image/jpeg", type: "string", format: "binary" },
          ...problemResponses,
        },
      },
    },
    async (request, reply) => {
      const event = await findVisible(request, request.params.id);
      const path = event?.snapshot ? await store.snapshotPath(event.id) : undefined;
      if (!path) throw new ApiProblem("not-found", "no snapshot for this event");
      return reply
        .type("image/jpeg")
        .header("Cache-Control", "private, max-age=86400, immutable")
        .send(createReadStream(path));
    },
  );

  app.get<{ Querystring: { camera?: string; code?: string; lastEventId?: string } }>(
    "/api/v1/events/stream",
    {
      schema: {
        summary: "Live events as Server-Sent Events; replays what was missed after Last-Event-ID",
        tags: ["events"],
        querystring: {
          type: "object",
          properties: {
            camera: { type: "string" },
            code: { type: "string" },
            lastEventId: { type: "string", pattern: "^[0-9A-Z]{26}$" },
          },
        },
        response: { 200: { description: "text/event-stream", type: "string" } },
      },
    },
    async (request, reply) => {
      const principal = request.principal;
      const { camera, code } = request.query;
      const header = request.headers["last-event-id"];
      const lastEventId =
        (typeof header === "string" && /^[0-9A-Z]{26}$/.test(header) ? header : undefined) ??
        request.query.lastEventId;
      const wanted = (event: CamgateEvent) =>
        principal !== undefined &&
        canSeeCamera(principal, event.camera) &&
        (camera === undefined || event.camera === camera) &&
        (code === undefined || event.code === code);
      reply.hijack();
      holdResponse(ctx.auth.grants, principal, reply.raw, undefined, "viewer");
      await serveEventFeed(reply.raw, { bus, store, wanted, lastEventId }).catch((error: unknown) => {
        // The store could not be read for the replay (the database away): the client reconnects.
        request.log.warn({ err: error }, "event feed replay failed");
        reply.raw.destroy();
      });
    },
  );

  app.get(
    "/api/v1/deliveries",
    {
      config: { role: "admin" },
      schema: {
        summary: "Webhook and MQTT delivery state: counts per target, and the dead letters",
        tags: ["events"],
        response: {
          200: {
            type: "object",
            properties: {
              targets: {
                type: "array",
                items: {
                  type: "object",
                  properties: {
                    target: { type: "string" },
                    state: { type: "string" },
                    count: { type: "integer" },
                    oldestPendingAt: { type: ["integer", "null"] },
                  },
                },
              },
              dead: { type: "array", items: { type: "object", additionalProperties: true } },
              mqtt: {
                type: "object",
                properties: { connected: { type: "boolean" }, published: { type: "integer" } },
              },
            },
          },
        },
      },
    },
    async () => ({
      targets: await pipeline.outbox.summary(),
      dead: await pipeline.outbox.list("dead", 100),
      ...(pipeline.deliveries.mqtt
        ? {
            mqtt: {
              connected: pipeline.deliveries.mqtt.connected,
              published: pipeline.deliveries.mqtt.published,
            },
          }
        : {}),
    }),
  );
}
