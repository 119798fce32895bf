/** A camera's recordings (event clips, continuous segments) in a time range, and each one's file. */
import { join } from "node:path";
import { Readable } from "node:stream";
import type { FastifyInstance } from "fastify";
import { type ExportPlan, exportBytes, exportSources, planExport } from "../../recording/export.ts";
import { canSeeCamera } from "../auth/authenticator.ts";
import { cameraFor, type GatewayContext } from "../context.ts";
import { ApiProblem } from "../errors.ts";
import { sendFileWithRanges, sendWithRanges } from "../file-range.ts";
import { parseTime } from "./events.ts";
import { idParams, problemResponses, timeRangeQuery } from "./schemas.ts";

const recordingSchema = {
  type: "object",
  properties: {
    id: { type: "string" },
    kind: { type: "string", enum: ["clip", "segment", "backfill"] },
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
/** The longest export (a day of footage; longer ranges are exported day by day). */
const MAX_EXPORT_MS = DAY;
/** Recordings an export may be made of (a day of 20 s segments). */
const MAX_EXPORT_FILES = 5000;

/** `2026-12-02T10-15-00Z`: a time for a file name. */
function fileTime(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/\.\d{3}/, "")
    .replace(/:/g, "-");
}

/**
 * A `<video>` element asks for an export in many byte ranges: the plan of each (from, to) is kept a short
 * while, so each range reads only its own fragments. Short, so footage recorded since (the range reaching
 * into the present) and files retention removed are seen again soon.
 */
const PLAN_TTL_MS = 30_000;
const MAX_PLANS = 32;

export function registerRecordingRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  const plans = new Map<string, { plan: ExportPlan; cut: string | undefined; at: number }>();
  app.get<{ Params: { id: string }; Querystring: { from?: string; to?: string } }>(
    "/api/v1/cameras/:id/recordings",
    {
      schema: {
        summary: "The camera's recordings overlapping a time range, oldest first (default: the last 24 h)",
        tags: ["recording"],
        params: idParams,
        querystring: timeRangeQuery,
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
      const recordings = (await ctx.recordings.index.list(entry.id, from, to)).map((recording) => ({
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
      const recording = await ctx.recordings.index.get(request.params.id);
      if (recording?.state !== "done") throw new ApiProblem("not-found", "no such recording");
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

  app.get<{
    Params: { id: string };
    Querystring: { from: string; to: string; download?: boolean };
  }>(
    "/api/v1/cameras/:id/export.mp4",
    {
      schema: {
        summary:
          "An MP4 of a time range (at most 24 h), re-muxed from the stored footage without re-encoding, with byte ranges",
        description:
          "Made of the continuous segments overlapping the range (else the event clips). It starts at the keyframe at or before `from`; a gap in the footage becomes a cut. `X-Camgate-Export-Start` is the capture time of its first picture; `X-Camgate-Export-Cut` says why it ends before `to`, when it does.",
        tags: ["recording"],
        params: idParams,
        querystring: {
          type: "object",
          properties: {
            from: { type: "string", description: "ISO 8601 or ms since epoch" },
            to: { type: "string", description: "ISO 8601 or ms since epoch" },
            download: { type: "boolean", description: "answer as an attachment (a download)" },
          },
          required: ["from", "to"],
        },
        response: { 200: { description: "video/mp4", format: "binary" }, ...problemResponses },
      },
    },
    async (request, reply) => {
      const entry = cameraFor(ctx, request, request.params.id);
      const from = parseTime(request.query.from) ?? 0;
      const to = parseTime(request.query.to) ?? 0;
      if (!(to > from)) throw new ApiProblem("bad-request", "`to` must be after `from`");
      if (to - from > MAX_EXPORT_MS)
        throw new ApiProblem(
          "bad-request",
          "an export covers at most 24 h; export a longer range day by day",
        );
      const key = `${entry.id}/${from}/${to}`;
      let planned = plans.get(key);
      if (!planned || planned.at < Date.now() - PLAN_TTL_MS) {
        const listed = await ctx.recordings.index.list(entry.id, from, to, MAX_EXPORT_FILES + 1);
        const plan = await planExport(
          ctx.recordings.dir,
          exportSources(listed.slice(0, MAX_EXPORT_FILES)),
          from,
          to,
        );
        if (!plan) throw new ApiProblem("not-found", "no recorded footage of this camera in this range");
        const tooMany =
          listed.length > MAX_EXPORT_FILES ? `stopped after ${MAX_EXPORT_FILES} files` : undefined;
        planned = { plan, cut: plan.cut ?? tooMany, at: Date.now() };
        plans.delete(key);
        plans.set(key, planned);
        // The oldest plan goes first (a Map keeps insertion order).
        for (const old of plans.keys()) {
          if (plans.size <= MAX_PLANS) break;
          plans.delete(old);
        }
      }
      const { plan, cut } = planned;
      reply.header("x-camgate-export-start", new Date(plan.startedAt).toISOString());
      if (cut) reply.header("x-camgate-export-cut", cut);
      return sendWithRanges(request, reply, {
        size: plan.size,
        read: (start, end) => Readable.from(exportBytes(plan, start, end)),
        contentType: "video/mp4",
        downloadName: `${entry.id}-${fileTime(plan.startedAt)}.mp4`,
        disposition: request.query.download ? "attachment" : "inline",
      });
    },
  );

  app.get(
    "/api/v1/storage",
    {
      schema: {
        summary: "Storage per camera: what it writes a day, what is kept, and how many days the rules keep",
        description:
          "Measured over the last week of each camera's continuous footage; `limit` says which rule decides (age, the camera's budget, the global budget, the disk). A camera under its `recording.minDays` is `short` (and a RetentionShort event says so).",
        tags: ["recording"],
        response: { 200: { type: "object", additionalProperties: true } },
      },
    },
    async (request) => {
      const projection = await ctx.recordings.storage.current();
      const visible = projection.cameras.filter(
        (c) => request.principal !== undefined && canSeeCamera(request.principal, c.camera),
      );
      // The totals and the disk are the whole installation's: admins only.
      return request.principal?.role === "admin" ? { ...projection, cameras: visible } : { cameras: visible };
    },
  );
}
