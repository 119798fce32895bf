/** The cameras' security audit (docs/security.md): the last report of a camera, and an audit on demand. */
import type { FastifyInstance } from "fastify";
import { BASELINE, templateFixing } from "../../audit/baseline.ts";
import { apply, displayPlan, plan } from "../../backup/provision.ts";
import { dahuaCameraFor, type GatewayContext } from "../context.ts";
import { ApiProblem } from "../errors.ts";
import { idParams, problemResponses } from "./schemas.ts";

const reportSchema = {
  type: "object",
  description:
    "findings (id, severity, title, seen, why, fix, fixConfig), advisories with their status, counts by severity, what each door answered without credentials",
  additionalProperties: true,
} as const;

export function registerAuditRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  const service = () => {
    if (!ctx.audit) throw new ApiProblem("not-found", "the security audit is off (audit.enabled: false)");
    return ctx.audit;
  };

  // Admins only: a list of what is weak about a camera is a map for whoever reads it.
  app.get<{ Params: { id: string } }>(
    "/api/v1/cameras/:id/audit",
    {
      config: { role: "admin" },
      schema: {
        summary: "The camera's last security audit",
        tags: ["audit"],
        params: idParams,
        response: { 200: reportSchema, ...problemResponses },
      },
    },
    async (request) => {
      const entry = dahuaCameraFor(ctx, request, request.params.id);
      const report = await service().report(entry.id);
      if (!report) throw new ApiProblem("not-found", `camera "${entry.id}" has not been audited yet`);
      return report;
    },
  );

  app.post<{ Params: { id: string } }>(
    "/api/v1/cameras/:id/audit",
    {
      config: { role: "admin" },
      schema: {
        summary: "Audit the camera now and answer with the report",
        tags: ["audit"],
        params: idParams,
        response: { 200: reportSchema, ...problemResponses },
      },
    },
    async (request) => {
      const entry = dahuaCameraFor(ctx, request, request.params.id);
      const running = service().audit(entry.id);
      if (!running) throw new ApiProblem("not-owner", `another instance audits camera "${entry.id}"`);
      return await running;
    },
  );

  app.post<{
    Params: { id: string };
    Body: { findings?: string[]; baseline?: boolean; dryRun?: boolean };
  }>(
    "/api/v1/cameras/:id/audit/fix",
    {
      config: { role: "admin" },
      schema: {
        summary:
          "Fix findings with the config keys that fix them (or apply the whole hardening baseline): a plan first with dryRun, else backed up before and after, applied, and audited again",
        tags: ["audit"],
        params: idParams,
        body: {
          type: "object",
          properties: {
            findings: {
              type: "array",
              items: { type: "string", maxLength: 80 },
              maxItems: 100,
              description: "ids of the camera's findings to fix (those a config key fixes)",
            },
            baseline: { type: "boolean", description: "the whole hardening baseline instead of findings" },
            dryRun: { type: "boolean", description: "answer with the plan (the exact setConfig keys) only" },
          },
          additionalProperties: false,
        },
        response: { 200: { type: "object", additionalProperties: true }, ...problemResponses },
      },
    },
    async (request) => {
      const entry = dahuaCameraFor(ctx, request, request.params.id);
      const audit = service();
      const { findings: wanted, baseline, dryRun } = request.body ?? {};
      if (!baseline && (!wanted || wanted.length === 0))
        throw new ApiProblem("bad-request", "name the findings to fix, or ask for the baseline");
      let template = BASELINE;
      if (!baseline) {
        const report = await audit.report(entry.id);
        const chosen = (report?.findings ?? []).filter((f) => wanted?.includes(f.id));
        const unknown = (wanted ?? []).filter((id) => !chosen.some((f) => f.id === id));
        if (unknown.length > 0)
          throw new ApiProblem(
            "bad-request",
            `not findings of camera "${entry.id}" now: ${unknown.join(", ")}`,
          );
        template = templateFixing(chosen);
        if (Object.keys(template).length === 0)
          throw new ApiProblem("bad-request", "no config key fixes these findings: see each finding's fix");
      }
      // Keys this firmware does not have are skipped with a note, never sent.
      const options = { onlyExisting: true };
      if (dryRun) return { plan: displayPlan(await plan(entry, template, options)) };
      const backup = async () => (await ctx.backups.service.runOne(entry.id)).commit;
      const result = await apply(entry, template, backup, options);
      const after = await backup();
      const report = await audit.audit(entry.id);
      return { result, backupAfter: after ?? null, report: report ?? null };
    },
  );
}
