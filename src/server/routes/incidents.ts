/**
 * Incidents (events/incidents.ts): one thing that happened, with a start, an end, a duration and the
 * sources that saw it, over the raw transitions of /api/v1/events. Paged newest first by cursor, filtered by
 * camera, code and time range, limited to the cameras the caller may see.
 */
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { ALERT_KINDS } from "../../config/schema.ts";
import type { EventPipeline } from "../../events/pipeline.ts";
import { canSeeCamera } from "../auth/authenticator.ts";
import type { GatewayContext } from "../context.ts";
import { ApiProblem } from "../errors.ts";
import { sendFileWithRanges } from "../file-range.ts";
import { eventSchema, type PageQuerystring, pageQuery, pageQuerySchema } from "./events.ts";
import { problemResponses } from "./schemas.ts";

const incidentSchema = {
  type: "object",
  properties: {
    id: { type: "string" },
    camera: { type: "string" },
    code: { type: "string" },
    channel: { type: "integer" },
    start: { type: "string", format: "date-time" },
    end: { type: ["string", "null"], description: "null while it goes on" },
    durationMs: { type: ["integer", "null"] },
    ongoing: { type: "boolean" },
    sources: { type: "array", items: { type: "string", enum: ["camera", "email", "gateway", "motion"] } },
    kinds: {
      type: "array",
      items: { type: "string" },
      description: "what it was to an owner: person, vehicle, doorbell, motion, confirmed-motion, ...",
    },
    zones: {
      type: "array",
      items: { type: "string" },
      description: "the zones (camgate's motion zones), rules or regions (the camera's) it named",
    },
    confirmed: {
      type: ["boolean", "null"],
      description:
        "Motion incidents of a camera camgate watches for motion: whether camgate's detection saw it too (false when it did not); null otherwise.",
    },
    snapshotEvent: {
      type: ["string", "null"],
      description: "a transition with a snapshot: GET /api/v1/events/<id>/snapshot.jpg",
    },
    events: { type: "integer", description: "how many transitions it has" },
    clip: {
      type: ["string", "null"],
      description: "the incident's recorded clip (MP4, byte ranges), once it is finished",
    },
    pinned: {
      type: ["object", "null"],
      description: "who pinned it and when: kept, with its events, clip and footage, until unpinned",
      properties: { by: { type: "string" }, at: { type: "string" } },
    },
  },
  required: ["id", "camera", "code", "start", "ongoing", "sources"],
} as const;

const idParam = {
  type: "object",
  properties: { id: { type: "string", pattern: "^[0-9A-Z]{26}$" } },
  required: ["id"],
} as const;

export function registerIncidentRoutes(
  app: FastifyInstance,
  ctx: GatewayContext,
  pipeline: EventPipeline,
): void {
  const clipUrl = (incident: string, done: boolean) =>
    done ? `/api/v1/incidents/${incident}/clip.mp4` : null;
  const withClips = async <T extends { id: string }>(incidents: T[]) => {
    const ids = incidents.map((incident) => incident.id);
    const [done, pins] = await Promise.all([
      ctx.recordings.index.withDoneClips(ids),
      pipeline.store.incidents.pins(ids),
    ]);
    return incidents.map((incident) => ({
      ...incident,
      clip: clipUrl(incident.id, done.has(incident.id)),
      pinned: pins.get(incident.id) ?? null,
    }));
  };
  const { store } = pipeline;

  app.get<{ Querystring: PageQuerystring }>(
    "/api/v1/incidents",
    {
      schema: {
        summary: "Incidents (start, end, duration, sources), newest first, of the cameras you may see",
        tags: ["events"],
        querystring: {
          ...pageQuerySchema,
          properties: {
            ...pageQuerySchema.properties,
            kind: {
              type: "string",
              enum: [...ALERT_KINDS],
              description: "only incidents of this kind (a person, a vehicle, motion camgate confirmed, ...)",
            },
            zone: { type: "string", description: "only incidents that named this zone, rule or region" },
          },
        },
        response: {
          200: {
            type: "object",
            properties: {
              incidents: { type: "array", items: incidentSchema },
              nextCursor: { type: "string" },
            },
          },
          ...problemResponses,
        },
      },
    },
    async (request) => {
      const page = await store.incidents.list(pageQuery(ctx, request));
      const incidents = await withClips(page.incidents);
      return page.nextCursor ? { incidents, nextCursor: page.nextCursor } : { incidents };
    },
  );

  app.get<{ Params: { id: string } }>(
    "/api/v1/incidents/:id",
    {
      schema: {
        summary: "One incident with its transitions, oldest first",
        tags: ["events"],
        params: idParam,
        response: {
          200: {
            type: "object",
            properties: { ...incidentSchema.properties, transitions: { type: "array", items: eventSchema } },
          },
          ...problemResponses,
        },
      },
    },
    async (request) => {
      const incident = await store.incidents.get(request.params.id);
      if (!incident || !request.principal || !canSeeCamera(request.principal, incident.camera))
        throw new ApiProblem("not-found", "no such incident");
      const [withClip] = await withClips([incident]);
      return { ...withClip, transitions: await store.ofIncident(incident.id) };
    },
  );

  for (const method of ["PUT", "DELETE"] as const)
    app.route<{ Params: { id: string } }>({
      method,
      url: "/api/v1/incidents/:id/pin",
      config: { role: "operator" },
      schema: {
        summary:
          method === "PUT"
            ? "Pin an incident: it is kept, with its events, snapshots, clip and the footage around it, until unpinned"
            : "Unpin an incident: the retention rules apply to it again",
        tags: ["events"],
        params: idParam,
        response: { 200: { type: "object", additionalProperties: true }, ...problemResponses },
      },
      handler: async (request) => {
        const incident = await store.incidents.get(request.params.id);
        if (!incident || !request.principal || !canSeeCamera(request.principal, incident.camera))
          throw new ApiProblem("not-found", "no such incident");
        if (method === "PUT") await store.incidents.pin(incident.id, request.principal.name);
        else await store.incidents.unpin(incident.id);
        request.log.info(
          { user: request.principal.name, incident: incident.id, pinned: method === "PUT" },
          "incident pin",
        );
        return {
          id: incident.id,
          pinned: (await store.incidents.pins([incident.id])).get(incident.id) ?? null,
        };
      },
    });

  app.get<{ Params: { id: string } }>(
    "/api/v1/incidents/:id/clip.mp4",
    {
      schema: {
        summary: "The incident's clip: MP4 from the pre-roll before its start to the post-roll after its end",
        description: "Byte ranges are answered (206), so a <video> element can seek.",
        tags: ["recording"],
        params: idParam,
        response: { 200: { description: "video/mp4", format: "binary" }, ...problemResponses },
      },
    },
    async (request, reply) => {
      const incident = await store.incidents.get(request.params.id);
      if (!incident || !request.principal || !canSeeCamera(request.principal, incident.camera))
        throw new ApiProblem("not-found", "no such incident");
      const clip = await ctx.recordings.index.clipOf(incident.id);
      if (clip?.state !== "done") throw new ApiProblem("not-found", "this incident has no finished clip");
      return sendFileWithRanges(
        request,
        reply,
        join(ctx.recordings.dir, clip.file),
        "video/mp4",
        `${incident.camera}-${incident.code}-${incident.id}.mp4`,
      );
    },
  );
}
