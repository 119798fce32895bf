/** Config history in git, diffs, restore, provisioning plans and applies. */
import type { FastifyInstance, FastifyRequest } from "fastify";
import { backupFileName } from "../../backup/backup-service.ts";
import { changedSections, diffConfigs, unifiedDiff } from "../../backup/config-diff.ts";
import {
  apply,
  displayPlan,
  parseTemplate,
  plan,
  type Template,
  templateFromBackup,
} from "../../backup/provision.ts";
import type { CameraEntry } from "../../camera/registry.ts";
import type { JsonObject } from "../../protocol/kv.ts";
import { canSeeCamera } from "../auth/authenticator.ts";
import { cameraFor, dahuaCameraFor, type GatewayContext } from "../context.ts";
import { ApiProblem } from "../errors.ts";
import { problemResponses } from "./schemas.ts";

const cameraParam = {
  type: "object",
  properties: { camera: { type: "string", pattern: "^[a-z0-9][a-z0-9_-]{0,31}$" } },
  required: ["camera"],
} as const;
const templateBody = {
  type: "object",
  properties: {
    template: {
      description: "config paths to values (object), or the same as YAML text",
      type: ["object", "string"],
    },
    cameras: { type: "array", items: { type: "string" }, description: "default: every camera you may see" },
  },
  required: ["template"],
  additionalProperties: false,
} as const;

export function registerBackupRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  const vault = ctx.backups;
  const repo = vault.repository;
  // Redacted backups are readable by viewers; unredacted ones hold secrets and need admin.
  const readRole = ctx.backupsRedacted ? "viewer" : "admin";

  app.get(
    "/api/v1/backups",
    {
      config: { role: readRole },
      schema: {
        summary: "Cameras and their last config backup",
        tags: ["backups"],
        response: { 200: { type: "object", additionalProperties: true } },
      },
    },
    async (request) => {
      const visible = (await vault.service.statuses(ctx.cameras.list().map((entry) => entry.id))).filter(
        (s) => request.principal && canSeeCamera(request.principal, s.camera),
      );
      const cameras = [];
      for (const status of visible) {
        const [latest] = await repo.history(backupFileName(status.camera), 1);
        cameras.push({ ...status, latest: latest ?? null });
      }
      return { cameras };
    },
  );

  app.get<{ Params: { camera: string }; Querystring: { limit?: number } }>(
    "/api/v1/backups/:camera",
    {
      config: { role: readRole },
      schema: {
        summary: "Versions of a camera's config: commit, time, changed sections",
        tags: ["backups"],
        params: cameraParam,
        querystring: {
          type: "object",
          properties: { limit: { type: "integer", minimum: 1, maximum: 1000 } },
        },
        response: { 200: { type: "object", additionalProperties: true }, ...problemResponses },
      },
    },
    async (request) => {
      const entry = dahuaCameraFor(ctx, request, request.params.camera);
      const versions = await repo.history(backupFileName(entry.id), request.query.limit ?? 100);
      return { camera: entry.id, versions };
    },
  );

  app.get<{ Params: { camera: string }; Querystring: { from?: string; to?: string } }>(
    "/api/v1/backups/:camera/diff",
    {
      config: { role: readRole },
      schema: {
        summary: "Changes between two versions by config path, and a unified diff (default: the last change)",
        tags: ["backups"],
        params: cameraParam,
        querystring: {
          type: "object",
          properties: {
            from: { type: "string", pattern: "^[0-9a-f]{4,40}$" },
            to: { type: "string", pattern: "^[0-9a-f]{4,40}$" },
          },
        },
        response: { 200: { type: "object", additionalProperties: true }, ...problemResponses },
      },
    },
    async (request) => {
      const entry = dahuaCameraFor(ctx, request, request.params.camera);
      const file = backupFileName(entry.id);
      const versions = await repo.history(file, 2);
      const to = request.query.to ?? versions[0]?.commit;
      const from = request.query.from ?? versions[1]?.commit;
      if (!to || !from) throw new ApiProblem("not-found", "fewer than two versions to compare");
      const [before, after] = await Promise.all([repo.read(file, from), repo.read(file, to)]);
      if (before === undefined || after === undefined) throw new ApiProblem("not-found", "no such version");
      const changes = diffConfigs(JSON.parse(before) as JsonObject, JSON.parse(after) as JsonObject);
      return {
        camera: entry.id,
        from,
        to,
        sections: changedSections(changes),
        changes,
        unified: unifiedDiff(file, before, after, from, to),
      };
    },
  );

  app.get<{ Params: { camera: string; commit: string } }>(
    "/api/v1/backups/:camera/:commit",
    {
      config: { role: readRole },
      schema: {
        summary: "A camera's config as of a version",
        tags: ["backups"],
        params: {
          type: "object",
          properties: {
            camera: cameraParam.properties.camera,
            commit: { type: "string", pattern: "^[0-9a-f]{4,40}$" },
          },
          required: ["camera", "commit"],
        },
        response: { 200: { type: "object", additionalProperties: true }, ...problemResponses },
      },
    },
    async (request, reply) => {
      const entry = dahuaCameraFor(ctx, request, request.params.camera);
      const text = await repo.read(backupFileName(entry.id), request.params.commit);
      if (text === undefined) throw new ApiProblem("not-found", "no such version");
      return reply.type("application/json; charset=utf-8").send(text);
    },
  );

  app.post<{ Body: { camera?: string } }>(
    "/api/v1/backups/run",
    {
      config: { role: "admin" },
      schema: {
        summary: "Back up one camera (or all) now",
        tags: ["backups"],
        body: { type: "object", properties: { camera: { type: "string" } }, additionalProperties: false },
        response: { 200: { type: "object", additionalProperties: true }, ...problemResponses },
      },
    },
    async (request) => {
      const ids = request.body?.camera ? [request.body.camera] : ctx.cameras.list().map((c) => c.id);
      const results = [];
      for (const id of ids) {
        cameraFor(ctx, request, id);
        try {
          const result = await vault.service.runOne(id);
          results.push({
            camera: id,
            commit: result.commit ?? null,
            changed: result.changed,
            paths: result.changes.map((c) => c.path),
          });
        } catch (error) {
          // One camera's failure is part of the answer (and logged by the backup service); the rest still run.
          results.push({ camera: id, error: error instanceof Error ? error.message : String(error) });
        }
      }
      return { results };
    },
  );

  const targets = (request: FastifyRequest, cameras: string[] | undefined) =>
    (
      cameras ??
      ctx.cameras
        .list()
        .map((c) => c.id)
        .filter((id) => request.principal && canSeeCamera(request.principal, id))
    ).map((id) => cameraFor(ctx, request, id));
  const readTemplate = (template: object | string): Template =>
    typeof template === "string" ? parseTemplate(template) : parseTemplate(JSON.stringify(template));

  /** Plan and apply share everything but what they do per camera. */
  const provisionRoute = (
    url: string,
    summary: string,
    perCamera: (entry: CameraEntry, template: Template) => Promise<object>,
    wrap: (results: object[]) => object,
  ) =>
    app.post<{ Body: { template: object | string; cameras?: string[] } }>(
      url,
      {
        config: { role: "admin" },
        schema: {
          summary,
          tags: ["provisioning"],
          body: templateBody,
          response: { 200: { type: "object", additionalProperties: true }, ...problemResponses },
        },
      },
      async (request) => {
        const entries = targets(request, request.body.cameras);
        const template = readTemplate(request.body.template);
        const results = [];
        for (const entry of entries) results.push(await perCamera(entry, template));
        return wrap(results);
      },
    );

  provisionRoute(
    "/api/v1/provision/plan",
    "What a template would change on each camera (touches nothing)",
    async (entry, template) => displayPlan(await plan(entry, template)),
    (plans) => ({ plans }),
  );

  provisionRoute(
    "/api/v1/provision/apply",
    "Back up, then apply a template; per path: applied, unchanged or rejected",
    (entry, template) =>
      apply(
        entry,
        template,
        async () =>
          (await vault.service.runOne(entry.id)).commit ??
          (await repo.history(backupFileName(entry.id), 1))[0]?.commit,
      ),
    (results) => ({ ok: results.every((r) => (r as { ok: boolean }).ok), results }),
  );

  app.post<{ Params: { camera: string }; Body: { commit: string; dryRun?: boolean } }>(
    "/api/v1/backups/:camera/restore",
    {
      config: { role: "admin" },
      schema: {
        summary:
          "Restore a version to the camera (through the same plan and apply as provisioning; redacted values stay as they are)",
        tags: ["backups"],
        params: cameraParam,
        body: {
          type: "object",
          properties: {
            commit: { type: "string", pattern: "^[0-9a-f]{4,40}$" },
            dryRun: { type: "boolean" },
          },
          required: ["commit"],
          additionalProperties: false,
        },
        response: { 200: { type: "object", additionalProperties: true }, ...problemResponses },
      },
    },
    async (request) => {
      const entry = dahuaCameraFor(ctx, request, request.params.camera);
      const text = await repo.read(backupFileName(entry.id), request.body.commit);
      if (text === undefined) throw new ApiProblem("not-found", "no such version");
      const template = templateFromBackup(text);
      if (request.body.dryRun) return displayPlan(await plan(entry, template));
      return await apply(entry, template, async () => (await vault.service.runOne(entry.id)).commit);
    },
  );
}
