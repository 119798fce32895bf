/** /api/v1/relay: the live hubs (viewers, frames in, sent and dropped, stalls) and snapshot statistics. */
import type { FastifyInstance } from "fastify";
import { canSeeCamera } from "../auth/authenticator.ts";
import type { GatewayContext } from "../context.ts";

export function registerRelayRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  app.get(
    "/api/v1/relay",
    {
      schema: {
        summary: "Live stream hubs and snapshot statistics (for health views)",
        tags: ["health"],
        response: {
          200: {
            type: "object",
            properties: {
              hubs: {
                type: "array",
                items: {
                  type: "object",
                  properties: {
                    camera: { type: "string" },
                    channel: { type: "integer" },
                    subtype: { type: "integer" },
                    state: { type: "string" },
                    viewers: { type: "integer" },
                    framesIn: { type: "integer" },
                    framesSent: { type: "integer" },
                    framesDropped: { type: "integer" },
                    upstreamConnects: { type: "integer" },
                    stalls: { type: "integer" },
                    lastError: { type: "string" },
                    latestFrameAgeMs: { type: "integer" },
                    backlogs: {
                      type: "array",
                      items: {
                        type: "object",
                        properties: { writable: { type: "integer" }, pending: { type: "integer" } },
                      },
                    },
                  },
                },
              },
              snapshotCameraRequests: { type: "integer" },
            },
          },
        },
      },
    },
    async (request) => {
      const principal = request.principal;
      const hubs = ctx.hubs
        .list()
        .filter((hub) => principal !== undefined && canSeeCamera(principal, hub.stats().camera))
        .map((hub) => ({ ...hub.stats(), backlogs: hub.viewerBacklogs() }));
      return { hubs, snapshotCameraRequests: ctx.snapshots.cameraRequests };
    },
  );
}
