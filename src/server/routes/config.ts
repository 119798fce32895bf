/** /api/v1/cameras/<id>/config/<name>: read a config section as JSON; PATCH it (admin) and see what changed. */
import type { FastifyInstance } from "fastify";
import { type JsonValue, treeToKv } from "../../protocol/kv.ts";
import { isSecretConfigName } from "../auth/roles.ts";
import { dahuaCameraFor, type GatewayContext } from "../context.ts";
import { ApiProblem } from "../errors.ts";
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
    async (request) => {
      const entry = dahuaCameraFor(ctx, request, request.params.id);
      if (isSecretConfigName(request.params.name) && request.principal?.role !== "admin")
        throw new ApiProblem(
          "not-allowed",
          `reading ${request.params.name} needs the admin role (it holds credentials)`,
        );
      return { name: request.params.name, value: await entry.api.getConfig(request.params.name) };
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
    async (request) => {
      const entry = dahuaCameraFor(ctx, request, request.params.id);
      const name = request.params.name;
      const wanted = treeToKv(request.body, [name]);
      // What the camera cannot take ('&', control characters) is refused before anything is sent.
      entry.api.checkConfigValues(Object.fromEntries(wanted));
      const before = new Map(treeToKv(await entry.api.getConfig(name), [name]));
      const changes: Record<string, string> = {};
      for (const [path, value] of wanted) {
        if (!before.has(path))
          throw new ApiProblem("unknown-config-path", `${path} does not exist on this camera`);
        if (before.get(path) !== value) changes[path] = value;
      }
      if (Object.keys(changes).length > 0) {
        await entry.api.setConfig(changes);
        // A new MachineName shows in device info (and alarm mails) from now on.
        ctx.cameras.forgetDeviceInfo(entry.id);
      }
      const after = new Map(treeToKv(await entry.api.getConfig(name), [name]));
      const changed = Object.keys(changes).map((path) => ({
        path,
        old: before.get(path),
        new: after.get(path),
      }));
      const notApplied = changed.filter((c) => c.new !== changes[c.path]);
      if (notApplied.length > 0)
        throw new ApiProblem(
          "not-applied",
          `the camera answered OK but kept: ${notApplied.map((c) => c.path).join(", ")}`,
          { camera: entry.id },
        );
      return { changed };
    },
  );
}
