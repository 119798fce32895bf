/**
 * Evidence export (recording/evidence.ts): ask for an archive of cameras and a window, or of an incident with
 * its pre- and post-roll; follow its preparation; download it (byte ranges: a broken download resumes);
 * read the key it is signed with.
 */
import { existsSync } from "node:fs";
import { Readable } from "node:stream";
import type { FastifyInstance } from "fastify";
import type { CamgateEvent } from "../../events/model.ts";
import { evidenceBytes } from "../../recording/evidence.ts";
import { canSeeCamera } from "../auth/authenticator.ts";
import { cameraFor, type GatewayContext } from "../context.ts";
import { ApiProblem } from "../errors.ts";
import type { EvidenceJob, EvidenceJobs } from "../evidence-jobs.ts";
import { EvidenceLimitError } from "../evidence-jobs.ts";
import { sendWithRanges } from "../file-range.ts";
import { parseTime } from "./events.ts";
import { problemResponses } from "./schemas.ts";

const DAY = 86_400_000;
const MAX_CAMERAS = 16;

interface EvidenceBody {
  cameras?: string[];
  from?: string;
  to?: string;
  incident?: string;
  preSeconds?: number;
  postSeconds?: number;
}

/** Whether the host's clock is kept by systemd-timesyncd (its flag file), else unknown. */
function clockState(): { source: string; synchronized: boolean | null } {
  return {
    source: "the camgate host's system clock (recordings are stamped with it as pictures arrive)",
    synchronized: existsSync("/run/systemd/timesync/synchronized") ? true : null,
  };
}

function shown(job: EvidenceJob) {
  return {
    id: job.id,
    state: job.state,
    progress: { done: job.done, total: job.total },
    ...(job.error ? { error: job.error } : {}),
    ...(job.archive ? { size: job.archive.size, manifest: job.archive.manifest } : {}),
    status: `/api/v1/evidence/${job.id}`,
    download: `/api/v1/evidence/${job.id}/evidence.zip`,
  };
}

export function registerEvidenceRoutes(app: FastifyInstance, ctx: GatewayContext, jobs: EvidenceJobs): void {
  const store = ctx.events.store;

  async function eventsOf(camera: string, from: number, to: number, limit: number): Promise<CamgateEvent[]> {
    const out: CamgateEvent[] = [];
    let cursor: string | undefined;
    do {
      const page = await store.list({
        cameras: [camera],
        camera,
        since: from,
        until: to,
        limit: 500,
        ...(cursor ? { cursor } : {}),
      });
      out.push(...page.events);
      cursor = page.nextCursor;
    } while (cursor && out.length < limit);
    return out.slice(0, limit);
  }

  app.post<{ Body: EvidenceBody }>(
    "/api/v1/evidence",
    {
      schema: {
        summary:
          "Prepare an evidence archive: cameras and a window, or an incident with its pre- and post-roll",
        description:
          "Answers 202 with the job; follow `status` until `ready`, then fetch `download` (a ZIP with an MP4 per camera, the events and snapshots, and a signed manifest; `camgate verify` checks it).",
        tags: ["recording"],
        body: {
          type: "object",
          additionalProperties: false,
          properties: {
            cameras: { type: "array", items: { type: "string" }, minItems: 1, maxItems: MAX_CAMERAS },
            from: { type: "string", description: "ISO 8601 or ms since epoch" },
            to: { type: "string", description: "ISO 8601 or ms since epoch" },
            incident: { type: "string", description: "an incident id: its camera (and `cameras`), its time" },
            preSeconds: { type: "integer", minimum: 0, maximum: 600, default: 10 },
            postSeconds: { type: "integer", minimum: 0, maximum: 600, default: 10 },
          },
        },
        response: { 202: { type: "object", additionalProperties: true }, ...problemResponses },
      },
    },
    async (request, reply) => {
      const principal = request.principal;
      if (!principal) throw new ApiProblem("unauthorized");
      const body = request.body;
      let from = parseTime(body.from);
      let to = parseTime(body.to);
      let cameras = body.cameras ?? [];
      let incident: Parameters<EvidenceJobs["start"]>[2]["incident"];
      if (body.incident) {
        const found = await store.incidents.get(body.incident);
        if (!found || !canSeeCamera(principal, found.camera))
          throw new ApiProblem("not-found", "no such incident");
        const end = found.end ? Date.parse(found.end) : Date.now();
        from ??= Date.parse(found.start) - (body.preSeconds ?? 10) * 1000;
        to ??= end + (body.postSeconds ?? 10) * 1000;
        cameras = [found.camera, ...cameras.filter((c) => c !== found.camera)];
        incident = { ...found, transitions: await store.ofIncident(found.id) };
      }
      if (cameras.length === 0) throw new ApiProblem("bad-request", "name the `cameras`, or an `incident`");
      if (from === undefined || to === undefined || !(to > from))
        throw new ApiProblem("bad-request", "`from` and `to` (to after from), or an `incident`");
      if (to - from > DAY) throw new ApiProblem("bad-request", "an evidence archive covers at most 24 h");
      const entries = [...new Set(cameras)].map((id) => cameraFor(ctx, request, id));
      let job: EvidenceJob;
      try {
        job = jobs.start(
          principal.name,
          `evidence-${new Date(from).toISOString().replace(/[:.]/g, "-")}.zip`,
          {
            cameras: entries.map((e) => ({ id: e.id, name: e.name })),
            from,
            to,
            ...(incident ? { incident } : {}),
            recordingsDir: ctx.recordings.dir,
            listRecordings: (camera, a, b) => ctx.recordings.index.list(camera, a, b, 2000),
            events: eventsOf,
            snapshotPath: (id) => store.snapshotPath(id),
            clock: clockState(),
          },
        );
      } catch (error) {
        if (error instanceof EvidenceLimitError) throw new ApiProblem("evidence-busy", error.message);
        throw error;
      }
      request.log.info(
        { user: principal.name, job: job.id, cameras: entries.map((e) => e.id), from, to },
        "evidence export",
      );
      return reply.code(202).send(shown(job));
    },
  );

  const jobOf = (id: string, principal: { name: string; role: string } | undefined) => {
    const job = principal
      ? jobs.get(id, { name: principal.name, admin: principal.role === "admin" })
      : undefined;
    if (!job) throw new ApiProblem("not-found", "no such evidence archive (they are kept for an hour)");
    return job;
  };
  const idParam = {
    type: "object",
    properties: { id: { type: "string", pattern: "^[A-Za-z0-9_-]{8,40}$" } },
    required: ["id"],
  } as const;

  app.get(
    "/api/v1/evidence/key",
    {
      schema: {
        summary: "The public key evidence archives are signed with, and its fingerprint",
        tags: ["recording"],
        response: { 200: { type: "object", additionalProperties: true } },
      },
    },
    async () => {
      const key = jobs.signingKey();
      return { algorithm: "Ed25519", fingerprint: key.fingerprint, publicKey: key.publicPem };
    },
  );

  app.get<{ Params: { id: string } }>(
    "/api/v1/evidence/:id",
    {
      schema: {
        summary: "An evidence archive's preparation: its progress, then its size and manifest",
        tags: ["recording"],
        params: idParam,
        response: { 200: { type: "object", additionalProperties: true }, ...problemResponses },
      },
    },
    async (request) => shown(jobOf(request.params.id, request.principal)),
  );

  app.get<{ Params: { id: string } }>(
    "/api/v1/evidence/:id/evidence.zip",
    {
      schema: {
        summary: "The evidence archive (byte ranges answered: a broken download resumes)",
        tags: ["recording"],
        params: idParam,
        response: { 200: { description: "application/zip", format: "binary" }, ...problemResponses },
      },
    },
    async (request, reply) => {
      const job = jobOf(request.params.id, request.principal);
      const archive = job.archive;
      if (job.state !== "ready" || !archive)
        throw new ApiProblem(
          "not-found",
          job.state === "failed" ? `the archive failed: ${job.error}` : "the archive is still being prepared",
        );
      return sendWithRanges(request, reply, {
        size: archive.size,
        read: (start, end) => Readable.from(evidenceBytes(archive, start, end)),
        contentType: "application/zip",
        downloadName: job.name,
        disposition: "attachment",
      });
    },
  );
}
