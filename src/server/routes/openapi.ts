/**
 * The OpenAPI 3.1 document, generated from the route schemas as they are registered. It passes Redocly's
 * `recommended-strict` ruleset (test/server/openapi-lint.test.ts): an operationId on every operation (from
 * the method and path unless the schema names one), servers, and a 4XX problem answer on every operation.
 */
import type { FastifyInstance, RouteOptions } from "fastify";
import { problemSchema } from "./schemas.ts";

interface Operation {
  method: string;
  url: string;
  schema: NonNullable<RouteOptions["schema"]>;
  role: string;
}

/** Call before registering routes: records every /api/v1, /healthz and /metrics route with a schema. */
export function collectOperations(app: FastifyInstance): Operation[] {
  const operations: Operation[] = [];
  app.addHook("onRoute", (route) => {
    if (
      !route.schema ||
      !(route.url.startsWith("/api/v1") || route.url === "/healthz" || route.url === "/metrics")
    )
      return;
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods) {
      if (method === "HEAD") continue;
      const config = route.config as { role?: string; public?: boolean } | undefined;
      operations.push({
        method: method.toLowerCase(),
        url: route.url,
        schema: route.schema,
        role: config?.public ? "none" : (config?.role ?? "viewer"),
      });
    }
  });
  return operations;
}

/** `get /api/v1/cameras/:id/snapshot.jpg` → `getCamerasByIdSnapshotJpg`: unique as the routes are. */
export function operationIdOf(method: string, url: string): string {
  const words = url
    .replace(/^\/api\/v1(?=\/|$)/, "")
    .split("/")
    .filter(Boolean)
    .flatMap((segment) =>
      segment.startsWith(":") ? ["by", segment.slice(1)] : segment.split(/[^A-Za-z0-9]+/).filter(Boolean),
    );
  const capitalised = words.map((word) => word.charAt(0).toUpperCase() + word.slice(1));
  return `${method.toLowerCase()}${capitalised.join("") || "Root"}`;
}

function parameters(schema: unknown, where: "path" | "query") {
  const object = schema as { properties?: Record<string, unknown>; required?: string[] } | undefined;
  return Object.entries(object?.properties ?? {}).map(([name, value]) => ({
    name,
    in: where,
    required: where === "path" || (object?.required ?? []).includes(name),
    schema: value,
  }));
}

export function openApiDocument(operations: readonly Operation[], version: string): object {
  const paths: Record<string, Record<string, object>> = {};
  for (const operation of operations) {
    const path = operation.url.replace(/:([A-Za-z]+)/g, "{$1}");
    const schema = operation.schema as Record<string, unknown>;
    const responses: Record<string, object> = {};
    for (const [status, body] of Object.entries(
      (schema.response ?? {}) as Record<string, Record<string, unknown>>,
    )) {
      const isProblem = status.endsWith("xx");
      const binary = body.format === "binary";
      responses[status.toUpperCase()] = {
        description: String(body.description ?? (isProblem ? "problem" : "ok")),
        content: binary
          ? {
              [String(body.description ?? "application/octet-stream")]: {
                schema: { type: "string", format: "binary" },
              },
            }
          : { [isProblem ? "application/problem+json" : "application/json"]: { schema: body } },
      };
    }
    if (!Object.keys(responses).some((status) => /^[123]/.test(status)))
      responses["200"] = { description: String(schema.summary ?? "ok") };
    if (!Object.keys(responses).some((status) => status.startsWith("4")))
      responses["4XX"] = {
        description: "problem",
        content: { "application/problem+json": { schema: problemSchema } },
      };
    const item = paths[path] ?? {};
    paths[path] = item;
    item[operation.method] = {
      operationId:
        typeof schema.operationId === "string"
          ? schema.operationId
          : operationIdOf(operation.method, operation.url),
      summary: schema.summary,
      ...(schema.description ? { description: schema.description } : {}),
      tags: schema.tags,
      "x-camgate-role": operation.role,
      parameters: [...parameters(schema.params, "path"), ...parameters(schema.querystring, "query")],
      ...(schema.body
        ? { requestBody: { required: true, content: { "application/json": { schema: schema.body } } } }
        : {}),
      responses,
      security: operation.role === "none" ? [] : [{ bearer: [] }, { basic: [] }, { signedUrl: [] }],
    };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "camgate",
      version,
      description: "A gateway for Amcrest and Dahua IP cameras.",
      license: { name: "MIT", identifier: "MIT" },
    },
    // Relative: the document describes the camgate that serves it, whatever its address.
    servers: [{ url: "/", description: "this camgate" }],
    paths,
    components: {
      securitySchemes: {
        bearer: { type: "http", scheme: "bearer" },
        basic: { type: "http", scheme: "basic" },
        signedUrl: {
          type: "apiKey",
          in: "query",
          name: "cg_sig",
          description: "from POST /api/v1/signed-urls",
        },
      },
    },
  };
}

export function registerOpenApiRoute(
  app: FastifyInstance,
  operations: readonly Operation[],
  version: string,
): void {
  let document: object | undefined;
  app.get("/api/v1/openapi.json", { config: { public: true } }, async () => {
    document ??= openApiDocument(operations, version);
    return document;
  });
}
