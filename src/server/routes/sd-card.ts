/**
 * The camera's own recordings (its SD card): listed on camgate's timeline (UTC, by the camera's clock as
 * read at the time of the listing) and downloaded byte for byte, through the camera's connection budget at
 * background priority.
 */

import { basename } from "node:path";
import type { FastifyInstance } from "fastify";
import { isCameraError } from "../../camera/errors.ts";
import {
  downloadSdFile,
  type SdFile,
  searchSdCard,
  wallClockMs,
  wallClockText,
} from "../../camera/sd-card.ts";
import { isRecordingPath } from "../../protocol/recording-path.ts";
import { dahuaCameraFor, type GatewayContext } from "../context.ts";
import { dhavToMp4Stream } from "../dhav-stream.ts";
import { ApiProblem } from "../errors.ts";
import { parseTime } from "./events.ts";
import { idParams, problemResponses, timeRangeQuery } from "./schemas.ts";

const DAY = 86_400_000;
/** The longest listing: a week of the card. */
const MAX_RANGE_MS = 7 * DAY;

const fileSchema = {
  type: "object",
  properties: {
    path: { type: "string", description: "the file on the camera (`/mnt/sd/...`)" },
    start: { type: ["string", "null"], format: "date-time" },
    end: { type: ["string", "null"], format: "date-time" },
    cameraStart: { type: "string", description: "the camera's wall clock, as it lists it" },
    cameraEnd: { type: "string" },
    bytes: { type: ["integer", "null"] },
    type: { type: "string", description: "dav (Dahua's container; ffmpeg and VLC read it), mp4, jpg" },
    flags: { type: "array", items: { type: "string" } },
    events: { type: "array", items: { type: "string" } },
    url: { type: "string", description: "the download through camgate" },
  },
} as const;

export function registerSdCardRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  app.get<{ Params: { id: string }; Querystring: { from?: string; to?: string } }>(
    "/api/v1/cameras/:id/sdcard",
    {
      schema: {
        summary: "The camera's own recordings (SD card) overlapping a time range (default: the last 24 h)",
        description:
          "Asked of the camera (mediaFileFind.cgi) at background priority. Times are placed on camgate's clock by the camera's clock offset, read once per listing (`cameraClockOffsetMs`: its time zone and drift).",
        tags: ["recording"],
        params: idParams,
        querystring: timeRangeQuery,
        response: {
          200: {
            type: "object",
            properties: {
              files: { type: "array", items: fileSchema },
              cameraClockOffsetMs: { type: "integer" },
              cut: { type: ["string", "null"], description: "why the listing stopped before its end" },
            },
          },
          ...problemResponses,
        },
      },
    },
    async (request) => {
      const entry = dahuaCameraFor(ctx, request, request.params.id);
      const to = parseTime(request.query.to) ?? Date.now();
      const from = parseTime(request.query.from) ?? to - DAY;
      if (!(to > from)) throw new ApiProblem("bad-request", "`to` must be after `from`");
      if (to - from > MAX_RANGE_MS) throw new ApiProblem("bad-request", "a listing covers at most 7 days");
      const cameraNow = wallClockMs(await entry.api.time());
      if (cameraNow === undefined)
        throw new ApiProblem("bad-response", "the camera's clock is not a time camgate can read");
      // Whole seconds: the camera's clock has no finer grain, and the second it prints is on average
      // half gone (hence the 500 ms).
      const offset = Math.round((cameraNow + 500 - Date.now()) / 1000) * 1000;
      let cut: string | null = null;
      const found: SdFile[] = [];
      for await (const file of searchSdCard(
        entry.api,
        wallClockText(from + offset),
        wallClockText(to + offset),
        {
          onCut: (reason) => {
            cut = reason;
          },
        },
      ))
        found.push(file);
      const utc = (text: string) => {
        const ms = wallClockMs(text);
        return ms === undefined ? null : new Date(ms - offset).toISOString();
      };
      return {
        files: found.map((file) => ({
          path: file.path,
          start: utc(file.startTime),
          end: utc(file.endTime),
          cameraStart: file.startTime,
          cameraEnd: file.endTime,
          bytes: file.bytes ?? null,
          type: file.type,
          flags: file.flags,
          events: file.events,
          url: `/api/v1/cameras/${entry.id}/sdcard/file?path=${encodeURIComponent(file.path)}`,
        })),
        cameraClockOffsetMs: offset,
        cut,
      };
    },
  );

  app.get<{ Params: { id: string }; Querystring: { path: string; format?: "dav" | "mp4" } }>(
    "/api/v1/cameras/:id/sdcard/file",
    {
      schema: {
        summary:
          "One recording from the camera's SD card, as the camera stores it, or a .dav re-muxed to MP4 for a browser",
        description:
          "Only recordings (`/mnt/sd/...` or `/mnt/dvr/...`, `.dav`/`.mp4`/`.jpg`) can be asked for: RPC_Loadfile would serve any file the camera can read. `format=mp4` re-muxes a DHAV recording (`.dav`) to fragmented MP4 as it arrives, without re-encoding (H.264 or H.265; its audio is left out), so a `<video>` element plays it.",
        tags: ["recording"],
        params: idParams,
        querystring: {
          type: "object",
          properties: {
            path: { type: "string", description: "as the listing gives it" },
            format: { type: "string", enum: ["dav", "mp4"], default: "dav" },
          },
          required: ["path"],
        },
        response: { 200: { description: "the file", format: "binary" }, ...problemResponses },
      },
    },
    async (request, reply) => {
      const entry = dahuaCameraFor(ctx, request, request.params.id);
      const path = request.query.path;
      if (!isRecordingPath(path))
        throw new ApiProblem(
          "bad-request",
          "not a recording on the camera's SD card (/mnt/sd/... .dav, .mp4, .jpg)",
        );
      const aborted = new AbortController();
      // The response closes when it is done or when the client goes away: either way the camera's
      // connection is not needed any longer.
      const onClose = () => aborted.abort(new Error("the client went away"));
      reply.raw.once("close", onClose);
      let download: Awaited<ReturnType<typeof downloadSdFile>>;
      try {
        download = await downloadSdFile(entry.api, path, aborted.signal);
      } catch (error) {
        if (isCameraError(error, "unsupported"))
          throw new ApiProblem("not-found", "the camera has no such file (it may have been overwritten)");
        throw error;
      }
      reply.raw.off("close", onClose);
      reply.raw.once("close", () => download.close());
      const name = basename(path).replace(/[^A-Za-z0-9_.@[\]-]/g, "_");
      if (request.query.format === "mp4" && name.endsWith(".dav")) {
        reply.header("content-type", "video/mp4");
        reply.header(
          "content-disposition",
          `inline; filename="${entry.id}-${name.replace(/\.dav$/, ".mp4")}"`,
        );
        return reply.send(download.body.pipe(dhavToMp4Stream(request.log, entry.id)));
      }
      reply.header(
        "content-type",
        name.endsWith(".mp4")
          ? "video/mp4"
          : name.endsWith(".jpg")
            ? "image/jpeg"
            : "application/octet-stream",
      );
      reply.header("content-disposition", `attachment; filename="${entry.id}-${name}"`);
      if (download.bytes !== undefined) reply.header("content-length", download.bytes);
      return reply.send(download.body);
    },
  );
}
