/** /healthz (no credentials: only whether camgate runs and how many cameras are online) and /metrics. */
import type { FastifyInstance } from "fastify";
import type { GatewayContext } from "../context.ts";

export function registerHealthRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  app.get(
    "/healthz",
    {
      config: { public: true },
      schema: {
        summary: "Liveness: camgate runs; counts of cameras by health",
        tags: ["health"],
        response: {
          200: {
            type: "object",
            properties: {
              status: { type: "string" },
              cameras: { type: "object", additionalProperties: { type: "integer" } },
            },
          },
        },
      },
    },
    async () => {
      const cameras: Record<string, number> = {};
      for (const entry of ctx.cameras.list()) {
        const state = entry.session.getHealth().state;
        cameras[state] = (cameras[state] ?? 0) + 1;
      }
      return { status: "ok", cameras };
    },
  );

  app.get(
    "/metrics",
    {
      // Every camera's series are here: admins, and the scraper's own token (server.metricsToken).
      config: { role: "admin", scrapeToken: true },
      schema: {
        summary: "Prometheus metrics (admin, or the server.metricsToken bearer token)",
        tags: ["health"],
      },
    },
    async (_request, reply) => {
      const body = await ctx.metrics.registry.metrics();
      return reply.type(ctx.metrics.registry.contentType).send(body);
    },
  );
}
