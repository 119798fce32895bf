/** The cameras' security audit (docs/security.md): the last report of a camera, and an audit on demand. */
import type { FastifyInstance } from "fastify";
import { dahuaCameraFor, type GatewayContext } from "../context.ts";
import { ApiProblem } from "../errors.ts";
import { problemResponses } from "./schemas.ts";

const cameraParam = {
  type: "object",
  properties: { camera: { type: "string", pattern: "^[a-z0-9][a-z0-9_-]{0,31}$" } },
  required: ["camera"],
} as const;

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
  app.get<{ Params: { camera: string } }>(
    "/api/v1/cameras/:camera/audit",
    {
      config: { role: "admin" },
      schema: {
        summary: "The camera's last security audit",
        tags: ["audit"],
        params: cameraParam,
        response: { 200: reportSchema, ...problemResponses },
      },
    },
    async (request) => {
      const entry = dahuaCameraFor(ctx, request, request.params.camera);
      const report = await service().report(entry.id);
      if (!report) throw new ApiProblem("not-found", `camera "${entry.id}" has not been audited yet`);
      return report;
    },
  );

  app.post<{ Params: { camera: string } }>(
    "/api/v1/cameras/:camera/audit",
    {
      config: { role: "admin" },
      schema: {
        summary: "Audit the camera now and answer with the report",
        tags: ["audit"],
        params: cameraParam,
        response: { 200: reportSchema, ...problemResponses },
      },
    },
    async (request) => {
      const entry = dahuaCameraFor(ctx, request, request.params.camera);
      const running = service().audit(entry.id);
      if (!running) throw new ApiProblem("not-owner", `another instance audits camera "${entry.id}"`);
      return await running;
    },
  );
}
