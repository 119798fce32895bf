/** A camera's recordings (event clips, continuous segments) in a time range, and each one's file. */
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { cameraFor, type GatewayContext } from "../context.ts";
import { ApiProblem } from "../errors.ts";
import { sendFileWithRanges } from "../file-range.ts";
import { parseTime } from "./events.ts";
import { idParams, problemResponses } from "./schemas.ts";

const recordingSchema = {
  type: "object",
  properties: {
    id: { type: "string" },
    kind: { type: "string", enum: ["clip", "segment"] },
    incident: { type: ["string", "null"] },
    start: { type: "string", format: "date-time" },
    end: { type: ["string", "null"] },
    durationMs: { type: ["integer", "null"] },
    bytes: { type: "integer" },
    state: { type: "string", enum: ["recording", "done", "failed"] },
    error: { type: ["string", "null"] },
    url: { type: ["string", "null"], description: "the MP4 (byte ranges), once it is done" },
  },
} as const;

const DAY = 86_400_000;

export function registerRecordingRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  app.get<{ Params: { id: string }; Querystring: { from?: string; to?: string } }>(
    "/api/v1/cameras/:id/recordings",
    {
      schema: {
        summary: "The camera's recordings overlapping a time range, oldest first (default: the last 24 h)",
        tags: ["recording"],
        params: idParams,
        querystring: {
          type: "object",
          properties: {
            from: { type: "string", description: "ISO 8601 or ms since epoch" },
            to: { type: "string", description: "ISO 8601 or ms since epoch (default now)" },
          },
        },
        response: {
          200: { type: "object", properties: { recordings: { type: "array", items: recordingSchema } } },
          ...problemResponses,
        },
      },
    },
    async (request) => {
      const entry = cameraFor(ctx, request, request.params.id);
      const to = parseTime(request.query.to) ?? Date.now();
      const from = parseTime(request.query.from) ?? to - DAY;
      const recordings = ctx.recordings.index.list(entry.id, from, to).map((recording) => ({
        ...recording,
        url: recording.state === "done" ? `/api/v1/recordings/${recording.id}/file.mp4` : null,
      }));
      return { recordings };
    },
  );

  app.get<{ Params: { id: string } }>(
    "/api/v1/recordings/:id/file.mp4",
    {
      schema: {
        summary: "One recording's MP4 (a clip or a continuous segment), with byte ranges",
        tags: ["recording"],
        params: {
          type: "object",
          properties: { id: { type: "string", pattern: "^[0-9A-Z]{26}$" } },
          required: ["id"],
        },
        response: { 200: { description: "video/mp4", format: "binary" }, ...problemResponses },
      },
    },
    async (request, reply) => {
      const recording = ctx.recordings.index.get(request.params.id);
      if (!recording || recording.state !== "done") throw new ApiProblem("not-found", "no such recording");
      cameraFor(ctx, request, recording.camera);
      return sendFileWithRanges(
        request,
        reply,
        join(ctx.recordings.dir, recording.file),
        "video/mp4",
        `${recording.camera}-${recording.start.replace(/[:.]/g, "-")}.mp4`,
      );
    },
  );
}
