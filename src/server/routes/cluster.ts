/** GET /api/v1/cluster: the instances sharing the cameras, and who owns which (admins). */
import type { FastifyInstance } from "fastify";
import type { GatewayContext } from "../context.ts";
import { problemResponses } from "./schemas.ts";

const instanceSchema = {
  type: "object",
  properties: {
    id: { type: "string" },
    startedAt: { type: "string" },
    seenAt: { type: "string", description: "its last heartbeat" },
    cameras: { type: "array", items: { type: "string" } },
  },
  required: ["id", "startedAt", "seenAt", "cameras"],
} as const;

const leaseSchema = {
  type: "object",
  properties: {
    camera: { type: "string" },
    owner: { type: "string" },
    token: {
      type: "string",
      description: "the fencing token of the owner's tenure (grows with each new one)",
    },
    acquiredAt: { type: "string" },
    expiresAt: { type: "string" },
    ageSeconds: { type: "number", description: "how long the owner has held the camera" },
  },
  required: ["camera", "owner", "token", "acquiredAt", "expiresAt", "ageSeconds"],
} as const;

export function registerClusterRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  app.get(
    "/api/v1/cluster",
    {
      config: { role: "admin" },
      schema: {
        summary: "The instances sharing the cameras (storage.postgres), their cameras and lease ages",
        tags: ["system"],
        response: {
          200: {
            type: "object",
            properties: {
              enabled: { type: "boolean", description: "false on a single instance (no storage.postgres)" },
              instance: { type: "string" },
              instances: { type: "array", items: instanceSchema },
              leases: { type: "array", items: leaseSchema },
            },
            required: ["enabled", "instances", "leases"],
          },
          ...problemResponses,
        },
      },
    },
    async () => {
      const coordinator = ctx.cluster.coordinator;
      if (!coordinator) return { enabled: false, instances: [], leases: [] };
      return { enabled: true, ...(await coordinator.view()) };
    },
  );
}
