/** /api/v1/cameras/<id>/config/<name>: read a config section as JSON; PATCH it (admin) and see what changed. */
import type { FastifyInstance } from "fastify";
import { isSecretConfigName } from "../../protocol/cgi.ts";
import { type JsonValue, treeToKv } from "../../protocol/kv.ts";
import { cameraFor, type GatewayContext } from "../context.ts";
import { problem, problemFromError, sendProblem } from "../problem.ts";
import { problemResponses } from "./schemas.ts";

const params = {
  type: "object",
  properties: {
    id: { type: "string", pattern: "^[a-z0-9][a-z0-9_-]{0,31}$" },
    name: { type: "string", pattern: "^[A-Za-z][A-Za-z0-9_]*(\\[\\d+\\])*(\\.[A-Za-z0-9_]+(\\[\\d+\\])*)*$" },
  },
  required: ["id", "name"],
} as const;

export function registerConfigRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  app.get<{ Params: { id: string; name: string } }>(
    "/api/v1/cameras/:id/config/:name",
    {
      schema: {
        summary: "A config section (or dotted sub-tree) as JSON",
        tags: ["config"],
        params,
        response: {
          200: { type: "object", properties: { name: { type: "string" }, value: {} } },
          ...problemResponses,
        },
      },
    },
    async (request, reply) => {
      const entry = cameraFor(ctx, request, reply, request.params.id);
      if (!entry) return reply;
      if (isSecretConfigName(request.params.name) && request.principal?.role !== "admin") {
        return sendProblem(
          reply,
          problem(
            403,
            "not-allowed",
            `reading ${request.params.name} needs the admin role (it holds credentials)`,
          ),
        );
      }
      try {
        return { name: request.params.name, value: await entry.api.getConfig(request.params.name) };
      } catch (error) {
        const { problem: value, retryAfterSeconds } = problemFromError(error);
        return sendProblem(reply, value, retryAfterSeconds);
      }
    },
  );

  app.patch<{ Params: { id: string; name: string }; Body: JsonValue }>(
    "/api/v1/cameras/:id/config/:name",
    {
      config: { role: "admin" },
      schema: {
        summary: "Change values of a config section; answers with what changed",
        description:
          'The body is a partial tree of the section, e.g. PATCH .../config/NTP with {"Enable": true}.',
        tags: ["config"],
        params,
        body: { type: ["object", "array"] },
        response: {
          200: {
            type: "object",
            properties: {
              changed: {
                type: "array",
                items: { type: "object", properties: { path: { type: "string" }, old: {}, new: {} } },
              },
            },
          },
          ...problemResponses,
        },
      },
    },
    async (request, reply) => {
      const entry = cameraFor(ctx, request, reply, request.params.id);
      if (!entry) return reply;
      const name = request.params.name;
      try {
        const current = await entry.api.getConfig(name);
        const before = new Map(treeToKv(current, [name]));
        const wanted = treeToKv(request.body, [name]);
        const changes: Record<string, string> = {};
        for (const [path, value] of wanted) {
          if (!before.has(path)) {
            return sendProblem(reply, problem(422, "rejected", `${path} does not exist on this camera`));
          }
          if (before.get(path) !== value) changes[path] = value;
        }
        if (Object.keys(changes).length > 0) await entry.api.setConfig(changes);
        const after = new Map(treeToKv(await entry.api.getConfig(name), [name]));
        const changed = Object.keys(changes).map((path) => ({
          path,
          old: before.get(path),
          new: after.get(path),
        }));
        const notApplied = changed.filter((c) => c.new !== changes[c.path]);
        if (notApplied.length > 0) {
          return sendProblem(
            reply,
            problem(
              422,
              "rejected",
              `the camera answered OK but kept: ${notApplied.map((c) => c.path).join(", ")}`,
            ),
          );
        }
        return { changed };
      } catch (error) {
        const { problem: value, retryAfterSeconds } = problemFromError(error);
        return sendProblem(reply, value, retryAfterSeconds);
      }
    },
  );
}
